"""The numbered sources an LLM answers from, fitted to a token budget.

Each source is one retrieved passage, headed by its title, date and outlet. With compression on
(the default) a source carries only the passage's sentences most relevant to the question, in the
order the caller ranks them (the LLM engine uses the extractive engine's scorer), chosen best-first
until the tiktoken budget is spent or the sentences score under a share of the best one; off, the
whole passages go in, in retrieval order, until the context window is full. Either way every
sentence keeps its character offsets in the cleaned article, so citations quote it exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from langchain_core.documents import Document

from assistant.text.facts import OUTLET_UNKNOWN, UNDATED
from assistant.text.sentences import sentence_spans


@dataclass
class Sentence:
    start: int  # offsets in the cleaned article
    end: int
    text: str


@dataclass
class Source:
    n: int
    doc: Document
    sentences: list[Sentence] = field(default_factory=list)

    @property
    def header(self) -> str:
        m = self.doc.metadata
        # no file name for an untitled article: its digits would read as facts ("000_9b2a….txt")
        return (f"[{self.n}] {m.get('title') or 'Untitled article'} "
                f"({m.get('date') or UNDATED}, {m.get('source') or OUTLET_UNKNOWN})")

    @property
    def body(self) -> str:
        out = []
        for prev, s in zip([None, *self.sentences], self.sentences, strict=False):
            if prev is not None:
                out.append(" " if _adjacent(prev, s) else " … ")
            out.append(s.text)
        return "".join(out)

    def render(self) -> str:
        return f"{self.header}\n{self.body}"


def _adjacent(a: Sentence, b: Sentence) -> bool:
    return b.start - a.end <= 3


def render_sources(sources: Sequence[Source]) -> str:
    return "\n".join(s.render() for s in sources)


def passage_sentences(doc: Document) -> list[Sentence]:
    base = int(doc.metadata.get("start", 0))
    return [Sentence(base + s, base + e, doc.page_content[s:e]) for s, e in sentence_spans(doc.page_content)]


def unique_sentences(passages: Sequence[Document]) -> list[tuple[int, Sentence]]:
    """(passage index, sentence) for every sentence of the passages, each article sentence once
    (overlapping chunks repeat sentences; the first passage holding one keeps it)."""
    seen: set[tuple[str, int]] = set()
    out: list[tuple[int, Sentence]] = []
    for pi, doc in enumerate(passages):
        for s in passage_sentences(doc):
            key = (doc.metadata.get("doc_id", ""), s.start)
            if key not in seen:
                seen.add(key)
                out.append((pi, s))
    return out


Ranked = list[tuple[float, int, Sentence]]  # (score, passage index, sentence), best first


def build_sources(question: str, passages: Sequence[Document], *, budget: int, compress: bool,
                  count: Callable[[str], int], rank: Callable[[str, Sequence[Document]], Ranked],
                  floor: float) -> list[Source]:
    """Numbered sources for the prompt, at most ``budget`` tokens (``count``) when rendered.

    Whole passages keep retrieval order. Compressed ones take the sentences ``rank`` orders
    best-first, while they score at least ``floor`` times the best (ASSISTANT_CONTEXT_FLOOR), and
    are numbered by their best sentence, so [1] holds the sentence ranked first."""
    if compress:
        chosen = _compressed(rank(question, passages), passages, budget, count, floor)
    else:
        chosen = _whole(passages, budget, count)
    sources = []
    for pi in chosen:  # dicts keep insertion order: retrieval order, or best sentence first
        sents = sorted(chosen[pi], key=lambda s: s.start)
        if sents:
            sources.append(Source(n=len(sources) + 1, doc=passages[pi], sentences=sents))
    return sources


def _header_cost(doc: Document, count) -> int:
    return count(Source(n=9, doc=doc).header) + 1


def _whole(passages: Sequence[Document], budget: int, count) -> dict[int, list[Sentence]]:
    chosen: dict[int, list[Sentence]] = {}
    used = 0
    for pi, doc in enumerate(passages):
        cost = _header_cost(doc, count)
        sents = []
        for s in passage_sentences(doc):
            c = count(s.text) + 1
            if used + cost + c > budget:
                break
            cost += c
            sents.append(s)
        if sents:
            chosen[pi] = sents
            used += cost
        if used >= budget:
            break
    return chosen


def _compressed(ranked: Ranked, passages: Sequence[Document], budget: int, count,
                share: float) -> dict[int, list[Sentence]]:
    """Sentences best-first until the budget is spent or they score under ``share`` of the best."""
    if not ranked:
        return {}
    floor = share * ranked[0][0]
    chosen: dict[int, list[Sentence]] = {}
    used = 0
    for score, pi, s in ranked:
        if score < floor:
            break
        cost = count(s.text) + 1 + (0 if pi in chosen else _header_cost(passages[pi], count))
        if used + cost > budget:
            continue
        chosen.setdefault(pi, []).append(s)
        used += cost
    return chosen
