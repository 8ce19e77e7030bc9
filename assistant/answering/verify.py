"""Parse and verify the citations of a generated answer against the sources it was given.

* Every ``[n]`` (also ``[1, 2]``, ``[Source 1]``) that maps to no given source is counted in
  ``invalid_citations`` and removed from the text.
* Each sentence that cites sources is checked against them: the figures and names it states must
  appear in them (or in the question), and its embedding cosine with their sentences must reach
  ``threshold``; otherwise it is listed in ``unsupported``, as is a claim that cites nothing.
* A claim whose figures and names are all in another given source, not the cited one, has its
  citation moved to that source, and the move is reported in ``corrected``.
* When every claim states a figure or name that no given source contains, the answer is withheld
  (rule "withhold-invented"): the reply is the refusal and the model's text is kept in ``withheld``.
* Each citation quotes, for the claim citing it that its source supports best, the sentence holding
  what that claim adds to the question (rule "quote-facts"; else the closest sentence), with its
  offsets in the cleaned article.
* A refusal ("The articles don't say.", or the model's own wording of it) is an abstention, also
  when the model adds uncited background to it.
  An answer left with no valid citation is ``grounded = False``: the text is kept, never
  dressed up with citations it did not make.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answering.context import Sentence, Source
from assistant.answering.types import ABSTAIN_TEXT, Citation
from assistant.rules import Rules
from assistant.text import facts
from assistant.text.sentences import sentence_spans
from assistant.text.words import tokenize

MARKER = re.compile(r"\[\s*(?:sources?\s*)?(\d+(?:\s*[,;]\s*(?:sources?\s*)?\d+)*)\s*\]", re.IGNORECASE)
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+\])+")
_REFUSAL = re.compile(
    r"(articles?|sources?|context|text|passages?)\b[^.]{0,40}?\b(do(es)?n[’']?t|do(es)? not|never)\s+"
    r"(say|mention|state|specify|provide|contain|include|give|answer|report)"
    r"|\bno (information|mention|details?)\b|\bnot (mentioned|stated|specified|provided)\b|\bcannot be determined\b"
    r"|\bI (do ?n[’']?t|do not) know\b|\bunable to (answer|determine)\b", re.IGNORECASE)


@dataclass
class Verified:
    text: str
    abstained: bool
    citations: list[Citation]
    invalid_citations: int
    unsupported: list[dict] = field(default_factory=list)
    withheld: str | None = None  # the model's answer, when every claim stated facts no source has
    corrected: list[dict] = field(default_factory=list)  # citations moved to the source holding the facts

    @property
    def grounded(self) -> bool:
        """Backed by at least one valid citation; an abstention claims nothing and counts as grounded."""
        return self.abstained or bool(self.citations)


def is_refusal(text: str) -> bool:
    """Every sentence says, in some wording, that the sources do not answer."""
    plain = MARKER.sub("", text).strip().strip('"')
    sentences = [plain[s:e] for s, e in sentence_spans(plain)] or [plain]
    return all(_REFUSAL.search(s) for s in sentences)


_WORD = re.compile(r"[A-Za-z][\w'’-]*")


def _names(claim: str, common: set[str] = frozenset()) -> set[str]:
    """Capitalised words of a claim that are not stop words, months or weekdays. Its first word is
    capitalised by position, so it counts only as an acronym ("AMP"), at the head of a run of names
    ("Paul Batchelor"), or when it is no ``common`` word (stems the sources and the question write in
    lower case: "Eight civilians", "Returns are" are not names; "Germany will", "Alexandra township"
    are), and not when a comma follows it ("However, ...")."""
    from assistant.text.words import tokenize

    first = _WORD.search(claim)
    if not first:
        return set()
    rest = claim[first.end():]
    names = facts.names(rest)
    word = re.sub(r"['’]s$", "", first.group(0))
    if len(word) > 1 and facts.names(word) and not rest.startswith(",") and (
            word.isupper() or re.match(r"\s+[A-Z]", rest) or not set(tokenize(word)) & common):
        names.add(word)
    return names


def common_stems(text: str) -> set[str]:
    """Stems of the words a text writes in lower case."""
    from assistant.text.words import tokenize

    return set(tokenize(" ".join(w for w in _WORD.findall(text) if w[:1].islower())))


def not_in_sources(claim: str, support: str, question: str = "", common: set[str] = frozenset()) -> list[str]:
    """Figures and names the claim states that its cited sources (and ``question``, when given) do
    not contain. Word forms count ("Iraqi" for "Iraq"), and so do acronyms of the source's names
    ("NSW" for "New South Wales", "US" for "U.S."); other names do not: a claim must name what its
    source names."""
    pool = support + " " + question
    figures = facts.figures(pool)
    words = {w.casefold() for w in _WORD.findall(pool)}
    words |= {part for w in words if "-" in w for part in w.split("-") if part}
    missing = [f for f in sorted(facts.figures(claim)) if f not in figures]
    acronyms = None

    def found(cf: str) -> bool:
        return cf in words or any(facts.same_word(cf, w) for w in words)

    for name in sorted(_names(claim, common)):
        cf = name.casefold()
        if found(cf) or ("-" in cf and all(found(part) for part in cf.split("-") if part)):
            continue
        if name.isupper():
            acronyms = acronyms if acronyms is not None else facts.acronyms(pool)
            if name in acronyms:
                continue
        missing.append(name)
    return missing


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return text.strip()


def strip_invalid(text: str, n_sources: int) -> tuple[str, int, list[int]]:
    """(text with invalid markers removed, how many numbers were invalid, valid numbers in order)."""
    invalid = 0
    used: list[int] = []

    def fix(m: re.Match) -> str:
        nonlocal invalid
        nums = [int(x) for x in re.findall(r"\d+", m.group(1))]
        good = []
        for n in nums:
            if 1 <= n <= n_sources:
                if n not in good:
                    good.append(n)
            else:
                invalid += 1
        for n in good:
            if n not in used:
                used.append(n)
        return "".join(f"[{n}]" for n in good)

    return _tidy(MARKER.sub(fix, text)), invalid, used


@dataclass
class Claim:
    text: str  # the sentence without its markers
    nums: list[int]  # the sources it cites
    markers: list[tuple[int, int]]  # where its markers are in the answer text


def claims(text: str) -> list[Claim]:
    """One claim per sentence; markers that open a sentence ("…offshore. [1] Then…") belong to
    the sentence before."""
    out: list[Claim] = []
    for s, e in sentence_spans(text):
        sent = text[s:e]
        lead = _LEADING_MARKERS.match(sent)
        if lead and out:
            for m in re.finditer(r"\[(\d+)\]", lead.group(0)):
                out[-1].nums.append(int(m.group(1)))
                out[-1].markers.append((s + m.start(), s + m.end()))
            s, sent = s + lead.end(), sent[lead.end():]
        found = list(re.finditer(r"\[(\d+)\]", sent))
        plain = _tidy(MARKER.sub("", sent))
        if plain.strip(" .") or found:
            out.append(Claim(plain, [int(m.group(1)) for m in found], [(s + m.start(), s + m.end()) for m in found]))
    return out


def _cos(a: Sequence[float], b: Sequence[float]) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    na = math.sqrt(float(a @ a)) or 1.0
    nb = math.sqrt(float(b @ b)) or 1.0
    return float(a @ b) / (na * nb)


def _holds_most(claim: str, question: str, common: set[str]) -> Callable[[tuple], tuple]:
    """Sort key for (similarity, Sentence) candidates to quote for a claim: how many of the figures,
    then the names, then the other words the claim adds to the question the sentence holds, then
    its similarity."""
    spelled = facts.with_digits(claim)
    new = set(not_in_sources(spelled, "", question, common))  # the claim's facts the question lacks
    figures = {f for f in new if f[0].isdigit()}
    names = new - figures
    new_words = set(tokenize(claim)) - set(tokenize(question))

    def key(candidate: tuple) -> tuple:
        sim, sentence = candidate
        missing = set(not_in_sources(spelled, facts.with_digits(sentence.text), "", common))
        return (len(figures - missing), len(names - missing), len(new_words & set(tokenize(sentence.text))), sim)

    return key


def verify_answer(raw: str, sources: Sequence[Source], *, embed: Callable[[list[str]], list[list[float]]],
                  threshold: float, question: str = "", rules: Rules | None = None) -> Verified:
    rules = rules or Rules()
    text = re.sub(r"^\s*(answer|example answer)\s*:\s*", "", raw.strip(), flags=re.IGNORECASE)
    text, invalid, used = strip_invalid(text, len(sources))
    if not text or is_refusal(text):
        return Verified(ABSTAIN_TEXT, True, [], invalid)
    parts = claims(text)
    by_n = {s.n: s for s in sources}
    src_text = {s.n: f"{s.header} {s.body}" for s in sources}
    everything = " ".join(src_text.values())
    common = common_stems(everything + " " + question)  # words written in lower case are no names
    need = ([c.text for c in parts if c.text] + [x.text for s in sources for x in s.sentences]
            + [s.body for s in sources])
    vectors = dict(zip(need, embed(need), strict=False)) if need else {}

    def sentence_sims(claim: str, n: int) -> list[tuple[float, Sentence]]:
        """(cosine with the claim, sentence) for every sentence of source n."""
        return [(_cos(vectors[claim], vectors[x.text]), x) for x in by_n[n].sentences]

    def similarity(claim: str, n: int) -> float:
        """How close source n comes to the claim: its closest sentence's cosine, or the whole source's."""
        return max(max(sim for sim, _ in sentence_sims(claim, n)), _cos(vectors[claim], vectors[by_n[n].body]))

    def quote_for(claim: str, n: int):
        """The sentence of source n to quote for the claim. With rule "quote-facts", the one holding
        most of what the claim adds to the question: its figures (number words read as digits), then
        its names, then its other words, the closest one among equals; so the reader who opens the
        citation sees the figure or name the answer states, not a sentence that only echoes the question.
        Without it, the closest sentence."""
        sims = sentence_sims(claim, n)
        key = lambda t: t[0]  # noqa: E731
        if len(sims) > 1 and rules.on("quote-facts"):
            key = _holds_most(claim, question, common)
        return max(sims, key=key)[1]

    refusals = [c for c in parts if c.text and is_refusal(c.text)]
    if refusals and not any(c.nums for c in parts if c.text and not is_refusal(c.text)):
        # "X is not mentioned in the sources. <uncited background>. The articles don't say." is a refusal
        return Verified(ABSTAIN_TEXT, True, [], invalid, withheld=text)
    quotes: dict[int, tuple[float, object]] = {}  # n -> (similarity, Sentence) of the best-supported use
    unsupported: list[dict] = []
    corrected: list[dict] = []
    edits: list[tuple[int, int, str]] = []
    checked = invented = 0
    for c in parts:
        nums = [n for n in dict.fromkeys(c.nums) if n in by_n]
        if not c.text:
            for n in nums:
                quotes.setdefault(n, (0.0, by_n[n].sentences[0]))
            continue
        if is_refusal(c.text):
            continue
        checked += 1
        made_up = not_in_sources(c.text, everything, question, common)  # in no source at all: invented
        invented += bool(made_up)
        if not nums:
            unsupported.append({"sentence": c.text, "cited": [], "similarity": None,
                                **({"not_in_sources": made_up} if made_up else {})})
            continue
        absent = not_in_sources(c.text, " ".join(src_text[n] for n in nums), question, common)
        if absent and not made_up:
            # the facts are in another given source: point the citation there, and say so
            holders = [n for n in by_n if not not_in_sources(c.text, src_text[n], question, common)]
            if holders:
                new = max(holders, key=lambda n: similarity(c.text, n))
                corrected.append({"sentence": c.text, "from": nums, "to": [new]})
                edits += [(a, b, f"[{new}]" if i == 0 else "") for i, (a, b) in enumerate(c.markers)]
                nums, absent = [new], []
        support = 0.0
        for n in nums:
            sim = similarity(c.text, n)
            support = max(support, sim)
            if n not in quotes or sim > quotes[n][0]:  # quoted for the claim it supports best
                quotes[n] = (sim, quote_for(c.text, n))
        if support < threshold or absent:
            unsupported.append({"sentence": c.text, "cited": nums, "similarity": round(support, 3),
                                **({"not_in_sources": absent} if absent else {})})
    if checked and invented == checked and rules.on("withhold-invented"):  # every claim states what no source has
        return Verified(ABSTAIN_TEXT, True, [], invalid, unsupported, withheld=text)
    for a, b, new in sorted(edits, reverse=True):
        text = text[:a] + new + text[b:]
    text = _tidy(text)
    used = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", text)))
    citations = []
    for n in used:
        if n not in quotes:
            continue
        sent = quotes[n][1]
        m = by_n[n].doc.metadata
        citations.append(Citation(n=n, doc_id=m["doc_id"], title=m.get("title") or "", date=m.get("date") or None,
                                  source=m.get("source") or "", url=m.get("url") or "", quote=sent.text,
                                  start=sent.start, end=sent.end))
    return Verified(text, False, citations, invalid, unsupported, corrected=corrected)
