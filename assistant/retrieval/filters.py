"""Retrieval filters: a date range (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; undated articles drop out
once either bound is set) and outlets (case-insensitive), read once into a ``Filters`` that gives the
allowed chunks of a keyword table as a mask and the same condition as a Chroma ``where``."""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.errors import FilterError
from assistant.index.keyword import KeywordIndex
from assistant.settings import RETRIEVAL_MODES


def parse_date_bound(value: str | None, *, upper: bool, name: str) -> int | None:
    """'2026', '2026-02' or '2026-02-02' -> 20260202-style int (first or last day for partial dates)."""
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
        return cls(parse_date_bound(date_from, upper=False, name="date_from"),
                   parse_date_bound(date_to, upper=True, name="date_to"),
                   tuple(sources) if sources else None)

    def matching_sources(self, table: KeywordIndex) -> set[str] | None:
        """The outlets of the table that the wanted ones name (None: no outlet filter)."""
        if not self.sources:
            return None
        lowered = {w.strip().casefold() for w in self.sources if w.strip()}
        return {m.get("source", "") for m in table.metas if m.get("source", "").casefold() in lowered}

    def mask(self, table: KeywordIndex) -> np.ndarray:
        """True for every chunk of the table the filters allow."""
        lo, hi = self.lo, self.hi
        dates = np.array([m.get("date_int", 0) for m in table.metas])
        mask = np.ones(len(table), dtype=bool)
        if lo is not None or hi is not None:
            mask &= dates > 0
            if lo is not None:
                mask &= dates >= lo
            if hi is not None:
                mask &= dates <= hi
        srcs = self.matching_sources(table)
        if srcs is not None:
            mask &= np.array([m.get("source", "") in srcs for m in table.metas])
        return mask

    def where(self, table: KeywordIndex) -> dict | None:
        """The same condition for Chroma's ``where``."""
        lo, hi = self.lo, self.hi
        clauses: list[dict] = []
        if lo is not None or hi is not None:
            clauses.append({"date_int": {"$gt": 0}})
            if lo is not None:
                clauses.append({"date_int": {"$gte": lo}})
            if hi is not None:
                clauses.append({"date_int": {"$lte": hi}})
        srcs = self.matching_sources(table)
        if srcs is not None:
            clauses.append({"source": {"$in": sorted(srcs) or ["\x00none"]}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}
