"""Parse and verify the citations of a generated answer against the sources it was given.

* Every ``[n]`` (also ``[1, 2]``, ``[Source 1]``) that maps to no given source is counted in
  ``invalid_citations`` and removed from the text.
* Each sentence that cites sources is checked against its cited sources: a figure or a name it
  states must appear in them (or in the question), and its embedding cosine with their sentences
  must reach ``threshold``; otherwise it is listed in ``unsupported``, as is a claim that cites
  nothing. When the cited sources support none of an answer's claims, the answer is withheld:
  the reply is the refusal and the model's text is kept in ``withheld``. (An answer that cites
  nothing valid cannot be checked: it is kept, marked not grounded.) Each citation quotes the source sentence closest to the claims that cite it,
  with its offsets in the cleaned article.
* A refusal ("The articles don't say.", or the model's own wording of it) is an abstention.
  An answer left with no valid citation is ``grounded = False``: the text is kept, never
  dressed up with citations it did not make.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

from assistant.answers import ABSTAIN_TEXT, Citation
from assistant.context import Source, _cos
from assistant.sentences import sentence_spans

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
    withheld: str | None = None  # the model's answer, when none of its claims was supported

    @property
    def grounded(self) -> bool:
        """Backed by at least one valid citation; an abstention claims nothing and counts as grounded."""
        return self.abstained or bool(self.citations)


def is_refusal(text: str) -> bool:
    """Every sentence says, in some wording, that the sources do not answer."""
    plain = MARKER.sub("", text).strip().strip('"')
    sentences = [plain[s:e] for s, e in sentence_spans(plain)] or [plain]
    return all(_REFUSAL.search(s) for s in sentences)


_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[A-Za-z][\w'’-]*")


def _figures(text: str) -> set[str]:
    out = set()
    for f in _FIGURE.findall(text):
        f = f.replace(",", "").rstrip(".")
        out.add(f.lstrip("0") or "0" if f.isdigit() else f)
    return out


def _names(claim: str) -> set[str]:
    """Capitalised words of a claim that are not common words ("The", "According", "In")."""
    from assistant.keyword_index import STOPWORDS

    words = _WORD.findall(claim)
    return {w for w in words if w[0].isupper() and len(w) > 1 and w.casefold() not in STOPWORDS | _COMMON}


_COMMON = {"however", "meanwhile", "additionally", "moreover", "both", "yes", "no", "none", "there", "here",
           "this", "these", "those", "it", "its", "they", "he", "she", "his", "her", "their", "source", "sources",
           "article", "articles", "overall", "today", "yesterday", "monday", "tuesday", "wednesday", "thursday",
           "friday", "saturday", "sunday", "january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
           "sept", "oct", "nov", "dec"}


def not_in_sources(claim: str, support: str, question: str) -> list[str]:
    """Figures and names the claim states that neither its cited sources nor the question contain."""
    from assistant.aliases import expand
    from assistant.extractive import _related

    pool = expand(support + " " + question)
    figures = _figures(pool)
    words = {w.casefold() for w in _WORD.findall(pool)}
    missing = [f for f in sorted(_figures(claim)) if f not in figures]
    for name in sorted(_names(claim)):
        cf = name.casefold()
        if cf not in words and not any(_related(cf, w) for w in words):
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


def claims(text: str) -> list[tuple[str, list[int]]]:
    """(claim without markers, cited numbers) per sentence; markers that open a sentence
    ("…offshore. [1] Then…") belong to the sentence before."""
    out: list[tuple[str, list[int]]] = []
    for s, e in sentence_spans(text):
        sent = text[s:e]
        lead = _LEADING_MARKERS.match(sent)
        if lead and out:
            out[-1][1].extend(int(x) for x in re.findall(r"\d+", lead.group(0)))
            sent = sent[lead.end():]
        nums = [int(x) for x in re.findall(r"\[(\d+)\]", sent)]
        plain = _tidy(MARKER.sub("", sent))
        if plain.strip(" .") or nums:
            out.append((plain, nums))
        elif out and nums:
            out[-1][1].extend(nums)
    return out


def verify_answer(raw: str, sources: Sequence[Source], *, embed: Callable[[list[str]], list[list[float]]],
                  threshold: float, question: str = "") -> Verified:
    text = re.sub(r"^\s*(answer|example answer)\s*:\s*", "", raw.strip(), flags=re.IGNORECASE)
    text, invalid, used = strip_invalid(text, len(sources))
    if not text or is_refusal(text):
        return Verified(ABSTAIN_TEXT, True, [], invalid)
    parts = claims(text)
    by_n = {s.n: s for s in sources}
    sentence_texts = [(n, sent) for s in sources for sent in s.sentences for n in [s.n]]
    need = [c for c, nums in parts if c] + [s.text for _, s in sentence_texts] + [s.body for s in sources]
    vectors = dict(zip(need, embed(need))) if need else {}
    best: dict[int, tuple[float, object]] = {}  # n -> (similarity, Sentence)
    unsupported: list[dict] = []
    for claim, nums in parts:
        nums = [n for n in dict.fromkeys(nums) if n in by_n]
        if not nums:
            if claim and not is_refusal(claim):
                unsupported.append({"sentence": claim, "cited": [], "similarity": None})
            continue
        if not claim:
            for n in nums:
                best.setdefault(n, (0.0, by_n[n].sentences[0]))
            continue
        support_text = " ".join(f"{by_n[n].header} {by_n[n].body}" for n in nums)
        absent = not_in_sources(claim, support_text, question)
        support = 0.0
        for n in nums:
            src = by_n[n]
            for sent in src.sentences:
                sim = _cos(vectors[claim], vectors[sent.text])
                support = max(support, sim)
                if n not in best or sim > best[n][0]:
                    best[n] = (sim, sent)
            support = max(support, _cos(vectors[claim], vectors[src.body]))
        if support < threshold or absent:
            unsupported.append({"sentence": claim, "cited": nums, "similarity": round(support, 3),
                                **({"not_in_sources": absent} if absent else {})})
    refuted = [u for u in unsupported if u["cited"]]
    if refuted and len(unsupported) == len([c for c, _ in parts if c]):
        return Verified(ABSTAIN_TEXT, True, [], invalid, unsupported, withheld=text)
    citations = []
    for n in used:
        if n not in best:
            continue
        sent = best[n][1]
        m = by_n[n].doc.metadata
        citations.append(Citation(n=n, doc_id=m["doc_id"], title=m.get("title") or "", date=m.get("date") or None,
                                  source=m.get("source") or "", url=m.get("url") or "", quote=sent.text,
                                  start=sent.start, end=sent.end))
    return Verified(text, False, citations, invalid, unsupported)
