"""The facts a piece of text states, read from its form alone: figures, names, dates.

One place for what the question analysis, the sentence scorer, the answer composer and the
citation check each need to recognise. Nothing here knows a topic: month and weekday names come
from the standard library's ``calendar``, number words from the ``text2num`` package, and names
are runs of capitalised words.
"""

from __future__ import annotations

import calendar
import re
from functools import lru_cache

MONTHS = tuple(m.lower() for m in calendar.month_name[1:])
MONTH_ABBREVIATIONS = tuple(m.lower() for m in calendar.month_abbr[1:]) + ("sept",)
WEEKDAYS = tuple(d.lower() for d in calendar.day_name)
_MONTH_RE = "|".join(MONTHS + MONTH_ABBREVIATIONS)
_DATE_WORD = re.compile(rf"\b(?:{_MONTH_RE}|{'|'.join(WEEKDAYS)})\b\.?|\b(?:1[89]|20)\d{{2}}\b", re.I)
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[\w'’.-]+")

UNDATED = "undated"
OUTLET_UNKNOWN = "outlet unknown"


def figures(text: str, *, dates: bool = True) -> set[str]:
    """The figures a text states, as plain digits ("5,500" -> "5500", "08" -> "8"). With
    ``dates=False`` the days and years of dates ("Feb 2", "2026-02-02", "2025") are left out."""
    if not dates:
        text = re.sub(rf"\b(?:{_MONTH_RE})\.? \d{{1,2}}\b(?:, \d{{4}})?|\b\d{{4}}-\d{{2}}-\d{{2}}\b", " ", text,
                      flags=re.I)
    out = set()
    for f in _FIGURE.findall(text):
        f = f.rstrip(".")
        f = f.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", f) else f
        if not dates and len(f) == 4 and f.isdigit() and 1800 <= int(f) <= 2100:
            continue
        out.add(f.lstrip("0") or "0" if f.isdigit() else f)
    return out


@lru_cache(maxsize=4096)
def with_digits(text: str, threshold: int = 3) -> str:
    """The text with its number words as digits ("nine wounded" -> "9 wounded"), by ``text2num``;
    numbers under ``threshold`` ("one of them") stay words."""
    from text_to_num import alpha2digit

    try:
        return alpha2digit(text, "en", threshold=threshold)
    except Exception:  # the parser gives up on odd input; the digits already there still count
        return text


def states_quantity(text: str, *, besides: set[str] = frozenset()) -> bool:
    """Does the text give a figure, in digits or in words ("nine wounded", read by ``text2num``),
    other than the ones in ``besides`` and other than the days and years of dates?"""
    if figures(text, dates=False) - besides:
        return True
    spelled = with_digits(text)
    return spelled != text and bool(figures(spelled, dates=False) - figures(text, dates=False) - besides)


def date_words(text: str) -> list[str]:
    """Month and weekday names and years the text mentions ("Sunday", "Feb.", "2026")."""
    return [w.strip(".") for w in _DATE_WORD.findall(text)]


def spelled_date(iso: str | None) -> str:
    """'2026-02-02' -> 'February 2026 Monday', so an article's own date can answer "in February"."""
    if not iso:
        return ""
    from datetime import date

    return date.fromisoformat(iso).strftime("%B %Y %A")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def _bare(w: str) -> str:
    """A word without surrounding punctuation and without a possessive ending ("NSW's" -> NSW)."""
    return re.sub(r"['’]s$", "", w.strip(".,'’\"“”()[]"))


def capitalised_runs(text: str) -> list[list[str]]:
    """Runs of capitalised words ("Igor Nikolayevich Zubov", "Hisham al-Alawi"), broken by
    punctuation. A lone capitalised first word of the sentence does not count."""
    runs: list[list[tuple[int, str]]] = []
    cur: list[tuple[int, str]] = []
    prev_end = None
    for i, m in enumerate(re.finditer(r"[\w'’.-]+", text)):
        bare = _bare(m.group(0))
        glued = prev_end is not None and text[prev_end:m.start()] == " " and text[prev_end - 1] not in ",;:)"
        prev_end = m.end()
        if bare[:1].isupper() or (cur and re.match(r"[a-z]{1,3}-[A-Z]", bare)):  # "al-Alawi"
            if cur and not glued:
                runs.append(cur)
                cur = []
            cur.append((i, bare))
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return [[w for _, w in r] for r in runs if not (len(r) == 1 and r[0][0] == 0)]


def names(text: str) -> set[str]:
    """The capitalised words of a text that are not stop words, months or weekdays."""
    from assistant.text.words import STOPWORDS

    common = STOPWORDS | set(MONTHS) | set(MONTH_ABBREVIATIONS) | set(WEEKDAYS)
    return {w for w in (_bare(x) for x in re.findall(r"[A-Za-z][\w'’-]*", text))
            if len(w) > 1 and w[0].isupper() and w.casefold() not in common}


def acronyms(text: str) -> set[str]:
    """The acronyms a text's names can be written as: the initials of each run of capitalised words
    and of its parts ("New South Wales" -> NSW, SW; "Bank of England" -> BE, BOE), and dotted
    abbreviations without their dots ("U.S." -> US)."""
    from assistant.text.words import STOPWORDS

    out = {w.replace(".", "") for w in re.findall(r"\b(?:[A-Z]\.){2,}", text)}
    runs: list[list[str]] = [[]]
    for w in re.findall(r"[\w'’-]+|[^\w\s]", text):
        if w[:1].isupper():
            runs[-1].append(w)
        elif runs[-1] and w.lower() in STOPWORDS and runs[-1][-1][:1].isupper() and w != "and":
            runs[-1].append(w)  # "Bank of England"
        else:
            runs.append([])
    for run in runs:
        while run and not run[-1][:1].isupper():
            run.pop()
        caps = [w for w in run if w[:1].isupper()]
        for i in range(len(caps)):
            for j in range(i + 2, len(caps) + 1):
                out.add("".join(w[0] for w in caps[i:j]))
        if len(caps) != len(run):
            out.add("".join(w[0].upper() for w in run))
    return out


def same_word(a: str, b: str) -> bool:
    """Word forms of one name, lower-cased: 'iraq'/'iraqi', 'russia'/'russian' (a shared prefix of at
    least 5 letters, or of 4 with at most 3 letters more)."""
    n = min(len(a), len(b))
    return n >= 4 and a[:n] == b[:n] and (n >= 5 or max(len(a), len(b)) - n <= 3)
