"""From scored sentences to an answer a reader can use: the sentences to cite, and the text.

Every answer opens with a direct sentence of at most 18 words, in the cited sentence's own words:
the stretch of it that holds the asked-for thing (the figure, the name, the date) and most of the
question's words. The whole sentence is the citation's quote (shown under the answer as evidence).
When articles of different dates give different figures, each follows with its date and outlet,
newest first. Both the extractive engine and the LLM engine's quoted answers are composed here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.documents import Document

from assistant.answering.question import Asked, _new, has_kind
from assistant.answering.scoring import Candidate
from assistant.answering.types import Citation
from assistant.rules import Rules
from assistant.text import facts
from assistant.text.words import STOPWORDS, tokenize

MAX_DIRECT_WORDS = 18
SECOND_RATIO = 0.75  # "second-sentence": a second sentence is added when it scores this close to the best
# "answer-words": the weight of the answer words a direct span keeps (each by its nearness to the question's
# words, as a share of all of them) beside the question's words it keeps. Swept on the three sets with the
# extractive engine (README, "What each rule is worth"): 0: 173 points, 0.5: 175, 1 to 3: 179. The LLM engine
# (its quoted answers, its shortened first sentences) does not use it: 0 / 0 / 0 there, held-out split -1.
ANSWER_WEIGHT = 1.0


def span_weight(rules: Rules) -> float:
    """``ANSWER_WEIGHT`` while rule ``answer-words`` is on, else 0."""
    return ANSWER_WEIGHT if rules.on("answer-words") else 0.0


@dataclass
class Choice:
    picked: list[Candidate]  # the sentences to cite, in answer order; empty: abstain
    dated: bool = False  # they are figures that differ between dated articles, newest first
    reason: str = ""  # why nothing was picked


def choose(asked: Asked, cands: Sequence[Candidate], passages: Sequence[Document], *, threshold: float,
           rules: Rules, dated_ratio: float = 0.7) -> Choice:
    """The sentences that answer (none: abstain, with the reason)."""
    typed = [c for c in cands if c.typed]
    if not typed:
        return Choice([], reason=f"no sentence holds the asked kind ({asked.kind})")
    best = typed[0]
    if best.score < threshold:
        return Choice([], reason=f"best sentence scores {best.score:.2f} < {threshold:.2f}")
    if asked.kind == "number" and rules.on("dated-figures"):
        # other articles' figures are given when their sentence scores ``dated_ratio`` of the best or more
        dated = dated_figures(typed, passages, max(threshold, dated_ratio * best.score))
        if dated:
            return Choice(dated, dated=True)
    picked = [best]
    if rules.on("second-sentence"):
        for c in typed[1:3]:
            if c.score >= SECOND_RATIO * best.score and c.text != best.text:
                picked.append(c)
                break
    return Choice(picked)


def dated_figures(ranked: Sequence[Candidate], passages: Sequence[Document], floor: float) -> list[Candidate]:
    """When articles of different dates give different figures: each new figure once (best sentence
    first, at most 2 an article, 3 in all), newest article first. Empty when they agree."""
    chosen: list[Candidate] = []
    shown: set[str] = set()
    per_doc: dict[str, int] = {}
    for c in ranked:
        if c.score < floor or len(chosen) == 3:
            break
        doc = passages[c.passage].metadata.get("doc_id", "")
        if not c.figures or c.figures <= shown or per_doc.get(doc, 0) >= 2:
            continue
        chosen.append(c)
        shown |= c.figures
        per_doc[doc] = per_doc.get(doc, 0) + 1
    dated_docs = {passages[c.passage].metadata.get("doc_id") for c in chosen
                  if passages[c.passage].metadata.get("date")}
    if len(dated_docs) < 2:
        return []
    order = {id(c): i for i, c in enumerate(chosen)}
    return sorted(chosen, key=lambda c: (passages[c.passage].metadata.get("date") or "", -order[id(c)]), reverse=True)


# ---------------------------------------------------------------------------- the direct sentence
def _is_stop(word: str) -> bool:
    """A stop word once its surrounding punctuation is dropped ("of", "the,")."""
    return word.strip(".,;:'’\"“”()").lower() in STOPWORDS


def _word_spans(sentence: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", sentence)]


def _clause_edges(sentence: str, spans: list[tuple[int, int]]) -> tuple[set[int], set[int]]:
    """Word indices that open and close a clause (after / before , ; : ( ) dashes and quotes)."""
    starts, ends = {0}, {len(spans) - 1}
    for i, (a, b) in enumerate(spans):
        w = sentence[a:b]
        if w.endswith(",") and w[-2:-1].isdigit() and sentence[b:b + 2].strip()[:1].isdigit():
            continue  # "Jan. 31, 2026", "1, 2 and 3": not a clause edge
        if re.search(r"[,;:)\]”\"—–]$|--$", w) or w in {"-", "–", "—"}:
            ends.add(i if w not in {"-", "–", "—"} else i - 1)
            starts.add(i + 1)
        if re.match(r"^[(\[“\"]", w):
            starts.add(i)
            ends.add(i - 1)
    return starts, ends


def _word_runs(words: Sequence[str]) -> list[tuple[int, int]]:
    """(first, last) word indices of each run of capitalised words, broken by punctuation; a
    hyphenated particle ("al-Alawi") continues a run."""
    out, start = [], None
    for i, w in enumerate(list(words) + [""]):
        bare = w.strip("\"“'‘")
        cap = bare[:1].isupper() or bare[:1] == "(" and bare[1:2].isupper() or (
            start is not None and re.match(r"[a-z]{1,3}-[A-Z]", bare) is not None)
        breaks_before = bare.startswith("(") or (i > 0 and re.search(r"[,;:)]$", words[i - 1]) is not None)
        if start is not None and (not cap or breaks_before):
            out.append((start, i - 1))
            start = None
        if cap and start is None:
            start = i
    return out


def answer_words(words: Sequence[str], asked: Asked) -> list[bool]:
    """Which words of a sentence carry a thing of the asked kind that the question does not give:
    a figure, a date word, a capitalised name (in a run of two for a person), an age, a span of
    time; for any other question, a content word the question does not use."""
    bare = [w.strip(".,;:!?'’\"“”()[]") for w in words]
    kind = asked.kind
    flags = [False] * len(words)
    if kind in ("person", "name"):
        for a, b in _word_runs(words):
            if a == b and (a == 0 or kind == "person"):
                continue  # a lone capitalised first word; a person has two names
            if any(_new(bare[i], asked) and bare[i].lower() not in STOPWORDS for i in range(a, b + 1)):
                for i in range(a, b + 1):
                    flags[i] = True
        return flags
    for i, w in enumerate(bare):
        if not w:
            continue
        if kind in ("number", "age"):
            window = " ".join(words[max(0, i - 1):i + 3]) if kind == "age" else w
            flags[i] = has_kind(asked, window) and bool(re.search(r"\d", facts.with_digits(w)))
        elif kind == "date":
            flags[i] = bool(facts.date_words(w)) and _new(w, asked)
        else:
            stems = tokenize(w)
            flags[i] = bool(stems) and not any(t in asked.terms for t in stems)
    return flags


def direct_span(sentence: str, asked: Asked, max_words: int = MAX_DIRECT_WORDS,
                answer_weight: float = ANSWER_WEIGHT) -> str:
    """At most ``max_words`` of ``sentence``'s own words that best answer: a thing of the asked kind
    next to the question's words, most of the question's words, and (rule ``answer-words``, at
    ``answer_weight``) most of what the sentence adds to them near them; whole clauses where possible
    (a run of clauses, or the sentence's clauses with some left out), never a name cut in two."""
    spans = _word_spans(sentence)
    if len(spans) <= max_words:
        return sentence.strip()
    words = [sentence[a:b] for a, b in spans]
    starts, ends = _clause_edges(sentence, spans)
    weights = asked.terms or {}
    total = sum(weights.values()) or 1.0
    stems = [set(tokenize(w)) for w in words]
    asked_at = [bool(st & set(weights)) or bool(st & asked.focus) for st in stems]
    answer_at = answer_words(words, asked)
    asked_idx = [i for i, a in enumerate(asked_at) if a]
    # how close each answer word stands to the question's words: 1 next to one, 1/3 three words away
    near = [1.0 / min((abs(i - j) for j in asked_idx if j != i), default=len(words)) if answer_at[i] else 0.0
            for i in range(len(words))]
    inside_run = set()
    for a, b in _word_runs(words):
        inside_run |= set(range(a + 1, b + 1))  # a cut before these words splits a name

    dangling = [_is_stop(w) for w in words]
    mass = sum(near) or 1.0  # all the answer words' nearness: a span scores the share it keeps

    def key(idx: list[int], gaps: int):
        chosen = set().union(*(stems[i] for i in idx))
        cover = sum(w for t, w in weights.items() if t in chosen) / total
        cuts = sum(1 for i in (idx[0], idx[-1] + 1) if i in inside_run)
        edges = (0.25 * (idx[0] in starts) + 0.15 * (idx[-1] in ends)
                 - 0.2 * (dangling[idx[-1]] and idx[-1] not in ends)
                 - 0.15 * (dangling[idx[0]] and idx[0] not in starts))
        return (any(answer_at[i] for i in idx),
                round(cover + edges + 0.2 * max(near[i] for i in idx) - 0.3 * cuts - 0.1 * gaps
                      + answer_weight * sum(near[i] for i in idx) / mass, 3), len(idx), -idx[0])

    options: list[tuple[tuple, list[int]]] = []
    for i in range(len(words)):  # runs of words
        for j in range(i, min(len(words), i + max_words)):
            idx = list(range(i, j + 1))
            options.append((key(idx, 0), idx))
    bounds = sorted(starts | {len(words)})
    units = [list(range(a, b)) for a, b in zip(bounds, bounds[1:], strict=False) if a < b]
    if 1 < len(units) <= 10:  # the sentence's clauses with some left out
        for mask in range(1, 1 << len(units)):
            picked = [u for k, u in enumerate(units) if mask >> k & 1]
            idx = [i for u in picked for i in u]
            gaps = sum(1 for a, b in zip(picked, picked[1:], strict=False) if a[-1] + 1 != b[0])
            if len(idx) <= max_words and gaps:
                options.append((key(idx, gaps), idx))
    _, idx = max(options, key=lambda o: o[0])
    pieces, run = [], [idx[0]]
    for i in idx[1:]:
        if i == run[-1] + 1:
            run.append(i)
        else:
            pieces.append(run)
            run = [i]
    pieces.append(run)
    texts = [sentence[spans[r[0]][0]:spans[r[-1]][1]].strip().strip(",;:—–- ") for r in pieces]
    return ", ".join(t for t in texts if t)


def figure_phrase(sentence: str, asked: Asked) -> str:
    """The figure a sentence gives for the question with the words that say what it counts, in the
    sentence's own words ("more than 5,000 ISIS detainees", "about 5,500 prisoners"): the new figure
    nearest the question's words, the small words before it, the words after it up to a stop word
    or a punctuation mark (four at most)."""
    words = [sentence[a:b] for a, b in _word_spans(sentence)]
    flags = answer_words(words, asked)
    hits = [i for i, f in enumerate(flags) if f]
    if not hits:
        return direct_span(sentence, asked, max_words=8).rstrip(" .,;")
    terms = set(asked.terms) | set(asked.focus)
    asked_at = [i for i, w in enumerate(words) if set(tokenize(w)) & terms]
    i = min(hits, key=lambda h: (min((abs(h - a) for a in asked_at), default=0), h))
    start = i
    while start > 0 and i - start < 2 and _is_stop(words[start - 1]) and not re.search(r"[,;:]$", words[start - 1]):
        start -= 1
    # "taken in 450": not "in"; "more than 5,000": both
    while start < i and start > 0 and not _is_stop(words[start - 1]):
        start += 1
    end = i
    while end + 1 < len(words) and end - i < 4 and not re.search(r"[,;:.)]$", words[end]):
        if _is_stop(words[end + 1]):
            break
        end += 1
    return " ".join(words[start:end + 1]).strip(" .,;:")


def as_sentence(span: str) -> str:
    """A span as the opening of a sentence: capitalised, trailing commas and dashes dropped."""
    span = re.sub(r"[\s,;:—–-]+$", "", span.strip())
    span = re.sub(r"^[\s,;:—–-]+", "", span)
    return span[:1].upper() + span[1:] if span else span


def _ends_sentence(text: str) -> bool:
    return bool(re.search(r"[.!?][\"”’')\]]*$", text))


def cite(text: str, n: int) -> str:
    """'text [n].' for a span, 'text. [n]' style kept for a whole sentence that already ends."""
    text = text.rstrip()
    if _ends_sentence(text):
        stripped = re.sub(r"[.!?]+([\"”’')\]]*)$", r"\1", text)
        return f"{stripped} [{n}]."
    return f"{text} [{n}]."


def compose(choice: Choice, asked: Asked, passages: Sequence[Document],
            answer_weight: float = ANSWER_WEIGHT) -> tuple[list[str], list[Citation]]:
    """The answer's parts (streamed one by one) and its citations: the direct sentence first, then,
    for dated figures that differ, each with its date and outlet, newest first; else a close second
    sentence, also direct."""
    citations: list[Citation] = []
    for c in choice.picked:
        meta = passages[c.passage].metadata
        citations.append(Citation(n=len(citations) + 1, doc_id=meta["doc_id"], title=meta.get("title") or "",
                                  date=meta.get("date") or None, source=meta.get("source") or "",
                                  url=meta.get("url") or "", quote=c.text, start=c.start, end=c.end))
    if not choice.picked:
        return [], []
    parts = [cite(as_sentence(direct_span(choice.picked[0].text, asked, answer_weight=answer_weight)), 1)]
    if choice.dated:
        items = []
        for cit, c in zip(citations, choice.picked, strict=False):
            when = cit.date or facts.UNDATED
            outlet = cit.source or facts.OUTLET_UNKNOWN
            items.append(f"{when}, {outlet}: {figure_phrase(c.text, asked)} [{cit.n}]")
        parts.append("Reports by date, newest first: " + "; ".join(items) + ".")
    else:
        for cit, c in list(zip(citations, choice.picked, strict=False))[1:]:
            parts.append(cite(as_sentence(direct_span(c.text, asked, answer_weight=answer_weight)), cit.n))
    return parts, citations


def shorten_first_sentence(answer: str, asked: Asked, answer_weight: float = 0.0) -> str:
    """An answer whose first sentence runs over ``MAX_DIRECT_WORDS`` gets that sentence cut to the
    stretch of its own words that answers (``direct_span``), keeping its citation markers; the
    rest of the answer stays as written."""
    from assistant.text.sentences import sentence_spans

    spans = sentence_spans(answer)
    if not spans:
        return answer
    end = spans[0][1]
    trailing = re.match(r"(?:\s*\[\d+\])+", answer[end:])
    end_all = end + (trailing.end() if trailing else 0)
    first = answer[spans[0][0]:end_all]
    markers = re.findall(r"\[\d+\]", first)
    plain = re.sub(r"\s*\[\d+\]", "", first).strip()
    if len(re.findall(r"\w[\w'’.,-]*", plain)) <= MAX_DIRECT_WORDS:
        return answer
    short = as_sentence(_opening_clauses(plain, asked)
                        or direct_span(plain, asked, answer_weight=answer_weight)).rstrip(" .")
    return (f"{short} {''.join(dict.fromkeys(markers))}." + answer[end_all:]).strip()


def _opening_clauses(sentence: str, asked: Asked) -> str | None:
    """The sentence's opening clauses, as many as fit in ``MAX_DIRECT_WORDS`` words, when they hold
    the asked-for kind of thing: a model states its answer first ("Walter Kansteiner, the assistant
    secretary ..., went on to blame ...")."""
    spans = _word_spans(sentence)
    _, ends = _clause_edges(sentence, spans)
    fitting = [j for j in ends if j < MAX_DIRECT_WORDS and j < len(spans) - 1]
    if not fitting:
        return None
    words = [sentence[a:b] for a, b in spans]
    cut = max(fitting)
    if not any(answer_words(words, asked)[:cut + 1]) and any(answer_words(words, asked)):
        return None
    return sentence[:spans[cut][1]]
