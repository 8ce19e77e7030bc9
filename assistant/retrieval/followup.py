"""Make a follow-up question retrievable without an LLM.

"And how many more might follow?" says nothing searchable on its own; the earlier user
turns do. The retrieval query is the question plus the most recent earlier turn when the
question reads as a follow-up, so both dense and keyword search see what it refers to
(rule "followup-retrieval").
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.question import looks_like_followup


def retrieval_query(question: str, history: Sequence[str] | None = None, turns: int = 1) -> str:
    """The question, preceded by the last ``turns`` earlier user turns when it reads as a follow-up."""
    history = [h for h in (history or []) if h and h.strip()]
    if not history or turns <= 0 or not looks_like_followup(question):
        return question
    return " ".join([*history[-turns:], question])
