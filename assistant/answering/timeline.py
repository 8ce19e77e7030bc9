"""Figures over time: when an answer's cited passages give a figure for the thing asked about at
different dates, the answer carries a timeline, and reports of one date that disagree (or agree
across outlets) are said in words.

    timeline(answer, asked) -> [{"date", "value", "unit", "text", "doc_id", "outlet", "n", "quote"}, ...]

Each point is a cited figure: from each citation of a dated article, the figure its quote gives for
the question (``compose.figure_phrase``: the new figure nearest the question's words, with the words
that say what it counts). No word list decides that two figures count the same thing: they are points
of one answer to one question, and the reader sees each with its quote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.compose import figure_phrase
from assistant.answering.question import Asked
from assistant.answering.types import Answer
from assistant.text import facts

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}


def figure_value(phrase: str) -> tuple[float, str] | None:
    """(value, unit) of a figure phrase: "about 5,500 prisoners" -> (5500.0, "prisoners"),
    "$40 billion" -> (4e10, "$"), "25 per cent" -> (25.0, "per cent"); None without a figure."""
    if not _NUMBER.search(phrase):
        phrase = facts.with_digits(phrase)  # "seven members"
    m = _NUMBER.search(phrase)
    if not m:
        return None
    raw = m.group(0)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        raw = raw.replace(",", "")
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        return None
    before = phrase[:m.start()].strip()
    after = phrase[m.end():].strip()
    scale = re.match(r"(thousand|million|billion|trillion)\b\s*", after, re.IGNORECASE)
    if scale:
        value *= _SCALE[scale.group(1).lower()]
        after = after[scale.end():]
    unit = after.strip(" .,;:") or ("$" if before.endswith("$") else "")
    if before.endswith("$") and unit != "$":
        unit = f"$ {unit}".strip()
    return value, unit


def timeline(answer: Answer, asked: Asked) -> list[dict]:
    """The cited figures of dated articles, by date (then citation number); empty unless the question
    asks for a figure and the points span at least two dates."""
    if asked.kind != "number" or answer.abstained:
        return []
    points = []
    for c in answer.citations:
        if not c.date:
            continue
        phrase = figure_phrase(c.quote, asked)
        found = figure_value(phrase)
        if found is None:
            continue
        value, unit = found
        points.append({"date": c.date, "value": value, "unit": unit, "text": phrase, "doc_id": c.doc_id,
                       "outlet": c.source or facts.OUTLET_UNKNOWN, "n": c.n, "quote": c.quote})
    if len({p["date"] for p in points}) < 2:
        return []
    return sorted(points, key=lambda p: (p["date"], p["n"]))


def same_day_reports(points: Sequence[dict]) -> str | None:
    """One sentence for reports of one date from different articles: "Reports differ: …" when their
    figures differ, "Reports agree: …" when two outlets give the same one; None when there are none."""
    parts = []
    by_date: dict[str, list[dict]] = {}
    for p in points:
        by_date.setdefault(p["date"], []).append(p)
    for date, group in sorted(by_date.items(), reverse=True):
        docs = {p["doc_id"] for p in group}
        if len(docs) < 2:
            continue
        values = {p["value"] for p in group}
        said = "; ".join(f"{p['outlet']}: {p['text']} [{p['n']}]" for p in group)
        parts.append(("Reports differ" if len(values) > 1 else "Reports agree") + f" for {date}: {said}.")
    return " ".join(parts) or None
