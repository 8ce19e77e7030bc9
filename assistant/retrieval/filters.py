"""Retrieval filters: a date range (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; undated articles drop out
once either bound is set) and outlets (case-insensitive), read once into a ``Filters`` that gives the
same condition for Chroma (``where``) and for the keyword index (its bounds and outlets)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.errors import FilterError
from assistant.settings import RETRIEVAL_MODES


def parse_date_bound(value: str | None, *, upper: bool, name: str) -> int | None:
    """'2026', '2026-02' or '2026-02-02' -> 20260202-style int (first or last day for partial dates)."""
    if value is not None and not isinstance(value, str):
        raise FilterError(f"{name}: expected a date as text (YYYY-MM-DD, YYYY-MM or YYYY), got {type(value).__name__}")
    if value is None or str(value).strip() == "":
        return None
    v = str(value).strip()
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", v)
    try:
        if not m:
            raise ValueError
        year = int(m[1])
        month = int(m[2]) if m[2] else (12 if upper else 1)
        if m[3]:
            day = int(m[3])
        else:
            day = calendar.monthrange(year, month)[1] if upper else 1
        calendar.weekday(year, month, day)  # validates
    except (ValueError, calendar.IllegalMonthError):
        raise FilterError(f"{name}: not a date: {value!r} (use YYYY-MM-DD, YYYY-MM or YYYY)") from None
    return year * 10000 + month * 100 + day


def check_query(query, limit: int) -> str:
    """A search query, or a one-line ``QuestionError``: not text, empty, or longer than ``limit``."""
    from assistant.errors import QuestionError

    if not isinstance(query, str):
        raise QuestionError(f"query: expected text, got {type(query).__name__}")
    if not query.strip():
        raise QuestionError("query: empty (search for something)")
    if len(query) > limit:
        raise QuestionError(f"query: {len(query):,} characters; the limit is {limit:,} (ASSISTANT_MAX_QUESTION_CHARS)")
    return query


def check_mode(mode: str) -> str:
    if mode not in RETRIEVAL_MODES:
        raise FilterError(f"mode: unknown retrieval mode {mode!r} (choose from {', '.join(RETRIEVAL_MODES)})")
    return mode


@dataclass(frozen=True)
class Filters:
    lo: int | None = None  # 20260201-style bounds, inclusive
    hi: int | None = None
    sources: tuple[str, ...] | None = None  # outlets as asked for

    @classmethod
    def parse(cls, date_from: str | None = None, date_to: str | None = None,
              sources: Sequence[str] | None = None) -> Filters:
        """One-line ``FilterError`` for a date that cannot be read."""
        lo = parse_date_bound(date_from, upper=False, name="date_from")
        hi = parse_date_bound(date_to, upper=True, name="date_to")
        if lo is not None and hi is not None and lo > hi:
            raise FilterError(f"date_from {date_from} is after date_to {date_to}: no article can match")
        if isinstance(sources, str):
            raise FilterError("sources: expected a list of outlets, got one string (put it in a list)")
        if sources is not None and not all(isinstance(s, str) for s in sources):
            raise FilterError("sources: every outlet must be text")
        return cls(lo, hi, tuple(sources) if sources else None)

    def where(self) -> dict | None:
        """The filters as Chroma's ``where`` (outlets compared case-folded: ``source_cf``)."""
        lo, hi = self.lo, self.hi
        clauses: list[dict] = []
        if lo is not None or hi is not None:
            clauses.append({"date_int": {"$gt": 0}})
            if lo is not None:
                clauses.append({"date_int": {"$gte": lo}})
            if hi is not None:
                clauses.append({"date_int": {"$lte": hi}})
        if self.sources is not None:
            wanted = sorted({s.strip().casefold() for s in self.sources if s.strip()})
            clauses.append({"source_cf": {"$in": wanted or ["\x00none"]}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}
