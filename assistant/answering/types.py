"""The answer-engine seam's types: a question, optional history (earlier user turns) and the
retrieved passages in; an ``Answer`` with numbered citations out, streamable.

The CLI, the evaluation and the UI call only ``AnswerEngine.stream``; ``engines.get_engine``
resolves an engine from its spec string. This module imports no engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

from langchain_core.documents import Document

ABSTAIN_TEXT = "The articles don't say."


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    date: str | None
    source: str
    url: str
    quote: str  # the exact cited sentence(s) of the cleaned article
    start: int  # offsets of the quote in the cleaned article text
    end: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    engine: str = ""
    model: str | None = None
    retrieved: list[dict] = field(default_factory=list)  # [{"doc_id", "chunk_id", "score"}]
    timings_ms: dict[str, float] = field(default_factory=dict)
    grounded: bool = True  # False: an answer left with no valid citation
    invalid_citations: int = 0  # [n] markers that mapped to no given source (removed from the text)
    unsupported_sentences: list[dict] = field(default_factory=list)  # {"sentence", "cited", "similarity"}
    corrected_citations: list[dict] = field(default_factory=list)  # {"sentence", "from", "to"}
    extra: dict = field(default_factory=dict)  # engine-specific fields, merged into the JSON
    # cited figures of dated articles, by date (answering.timeline): [{date, value, unit, text, doc_id, outlet,
    # n, quote}]; empty unless the question asks for a figure and the points span two dates or more
    timeline: list[dict] = field(default_factory=list)
    # the retrieved passages themselves (LangChain Documents, in rank order), for displays such as the
    # UI's sources panel; not part of the JSON (``retrieved`` lists their ids and scores)
    passages: list = field(default_factory=list, repr=False)

    def to_json(self) -> dict:
        out = {"question": self.question, "answer": self.answer, "abstained": self.abstained,
               "citations": [c.to_json() for c in self.citations], "retrieved": self.retrieved,
               "engine": self.engine, "grounded": self.grounded, "invalid_citations": self.invalid_citations,
               "unsupported_sentences": self.unsupported_sentences, "corrected_citations": self.corrected_citations,
               "timeline": self.timeline, "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}}
        if self.model:
            out["model"] = self.model
        out.update(self.extra)
        return out

    @property
    def quoted_note(self) -> str | None:
        """For an LLM engine's answer that quotes the extractive scorer's sentences instead of the
        model's text: what the reader is told, and why."""
        if self.extra.get("answered_by") != "quote":
            return None
        return f"Quoted from the articles: {self.extra.get('fallback_reason', 'the model did not answer')}."


StreamItem = str | Answer  # text deltas, then the final Answer last


class AnswerEngine(Protocol):
    name: str

    def condense(self, question: str, history: Sequence[str]) -> str:
        """The question as a standalone one, given the earlier user turns (may return it unchanged)."""
        ...

    def stream(self, question: str, history: Sequence[str], passages: Sequence[Document]) -> Iterator[StreamItem]:
        """Yield text deltas as they are produced, then the final (verified) ``Answer``."""
        ...


def final_answer(stream: Iterator[StreamItem]) -> Answer:
    """Drain a stream and return its final Answer."""
    last = None
    for item in stream:
        last = item
    if not isinstance(last, Answer):
        raise RuntimeError("answer engine ended its stream without an Answer")
    return last


