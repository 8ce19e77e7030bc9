"""Make a follow-up question retrievable without an LLM.

"And how many more might follow?" says nothing searchable on its own; the earlier user
turns do. The retrieval query is the question plus the most recent earlier turn when the
question reads as a follow-up, so both dense and keyword search see what it refers to
(rule "followup-retrieval").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_FOLLOWUP_CUES = re.compile(
    r"^(and|but|also|so|what about|how about|then)\b|\b(he|she|they|them|his|her|their|it|its|this|that|those|these|"
    r"there|him|more|else|same|other)\b", re.IGNORECASE)


def looks_like_followup(question: str) -> bool:
    """Short, and opening with "and / but / what about" or leaning on a pronoun ("he", "they", "that")."""
    return len(question.split()) <= 12 and bool(_FOLLOWUP_CUES.search(question))


def retrieval_query(question: str, history: Sequence[str] | None = None, turns: int = 1) -> str:
    """The question, preceded by the last ``turns`` earlier user turns when it reads as a follow-up."""
    history = [h for h in (history or []) if h and h.strip()]
    if not history or turns <= 0 or not looks_like_followup(question):
        return question
    return " ".join([*history[-turns:], question])
