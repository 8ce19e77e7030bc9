"""Make a follow-up question retrievable without an LLM.

"And how many more might follow?" says nothing searchable on its own; the earlier user
turns do. The retrieval query is the question plus the most recent earlier turns, so both
dense and keyword search see the entities the follow-up refers to.
"""

from __future__ import annotations

import re
from typing import Sequence

_FOLLOWUP_CUES = re.compile(
    r"^(and|but|also|so|what about|how about|then)\b|\b(he|she|they|them|his|her|their|it|its|this|that|those|these|"
    r"there|him|more|else|same|other)\b", re.IGNORECASE)


def looks_like_followup(question: str) -> bool:
    return len(question.split()) <= 12 and bool(_FOLLOWUP_CUES.search(question))


def retrieval_query(question: str, history: Sequence[str] | None = None, turns: int = 1) -> str:
    """The question, preceded by the last ``turns`` earlier user turns when it reads as a follow-up,
    with the countries of capitals it names ("Washington" -> US) added for keyword search."""
    from assistant.aliases import expand

    history = [h for h in (history or []) if h and h.strip()]
    if not history or not looks_like_followup(question):
        return expand(question)
    return expand(" ".join([*history[-turns:], question]))
