"""Clean an article's raw text and read its metadata from it.

Input: the visible text of one article (from .txt, .md, an HTML page or a JSON record).
Output: ``Cleaned``: paragraphs joined by blank lines, with the leading ``date YYYY-MM-DD``
marker, a headline line, junk lines (stray HTTP status lines, "Advertisement") and
paragraphs repeated verbatim removed; plus the date, title, outlet and dateline found.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date as _date
from datetime import datetime

CLEANER_VERSION = "1"  # part of the index fingerprint: bump when cleaning output changes

_DATE_MARKER = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b[ \t]*", re.IGNORECASE)
_JUNK_LINE = re.compile(
    r"""^(?:
        \d{3}                                   # a bare HTTP status: "403"
      | HTTP/\d(?:\.\d)?\s+\d{3}\b.*            # "HTTP/1.1 403 Forbidden"
      | \d{3}\s+(?:forbidden|not\s+found|unauthorized|bad\s+request|internal\s+server\s+error
                |service\s+unavailable|bad\s+gateway|gateway\s+time-?out|moved\s+permanently|ok)
      | advertisement | sponsored(?:\s+content)? | skip\s+to\s+(?:main\s+)?content
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# "ERBIL (Kurdistan24) - ", "BAGHDAD, Feb 2 (Reuters) - "
_PLACE_OUTLET = re.compile(
    r"^(?P<place>[A-Z][A-Z'.\-]+(?:\s[A-Z][A-Z'.\-]+){0,3})(?:,\s*[^()\n]{1,40}?)?\s*\((?P<outlet>[^()\n]{2,40})\)\s*[-–—:]\s*"
)
# "(MENAFN) ", "(AP) — "
_OUTLET_ONLY = re.compile(r"^\((?P<outlet>[A-Z][A-Za-z0-9 .&'\-]{1,40})\)\s*[-–—:]?\s*")
# "TEHRAN – ", "WASHINGTON, D.C. — "
_PLACE_ONLY = re.compile(r"^(?P<place>[A-Z][A-Z'.\-]+(?:\s[A-Z][A-Z'.\-]+){0,3})(?:,\s*[A-Za-z.\s]{1,30}?)?\s+[-–—]\s+")
_TERMINAL = re.compile(r"""[.!?;:,]["'”’)\]]*$""")


@dataclass
class Cleaned:
    text: str
    title: str = ""
    date: str | None = None  # ISO YYYY-MM-DD
    source: str = ""  # the outlet, else the dateline's place
    dateline: str = ""


def normalize_date(value: str) -> str:
    """ISO date string from 'YYYY-MM-DD', 'YYYY/MM/DD' or an ISO datetime; ValueError otherwise."""
    v = value.strip()
    m = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", v)
    if m:
        return _date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    return datetime.fromisoformat(v.replace("Z", "+00:00")).date().isoformat()


def date_to_int(value: str | None) -> int:
    """20260202 for '2026-02-02'; 0 for an undated article (excluded by any date filter)."""
    return int(value.replace("-", "")) if value else 0


def normalize_text(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    # control and format characters go (newlines and tabs stay); most texts have none
    if not text.replace("\n", "").replace("\t", "").isprintable():
        text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return unicodedata.normalize("NFC", text)


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs: blank-line blocks; inside a block each line is a paragraph unless it
    is a soft wrap (no terminal punctuation and the next line starts in lower case)."""
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in block.split("\n")]
        lines = [ln for ln in lines if ln]
        current = ""
        for line in lines:
            if current and not _TERMINAL.search(current) and line[:1].islower():
                current += " " + line
            else:
                if current:
                    paragraphs.append(current)
                current = line
        if current:
            paragraphs.append(current)
    return paragraphs


def _norm_para(p: str) -> str:
    return re.sub(r"\s+", " ", p).strip().casefold()


def looks_like_headline(line: str) -> bool:
    words = line.split()
    return 2 <= len(words) <= 25 and len(line) <= 200 and not _TERMINAL.search(line) and not line.startswith("(")


def clean_article(raw: str, *, title: str = "", date: str | None = None, source: str = "",
                  detect_headline: bool = True) -> Cleaned:
    """Clean one article. Explicit ``title``/``date``/``source`` (from a JSON record or
    HTML metadata) win over what is read from the text."""
    text = normalize_text(raw)
    found_date = None
    m = _DATE_MARKER.match(text)
    if m:
        try:
            found_date = normalize_date(m.group(1))
        except ValueError:
            found_date = None
        text = text[m.end():]

    paragraphs = [p for p in split_paragraphs(text) if not _JUNK_LINE.match(p)]

    seen: set[str] = set()
    unique: list[str] = []
    for p in paragraphs:
        key = _norm_para(p)
        if len(key.split()) >= 5:
            if key in seen:
                continue
            seen.add(key)
        unique.append(p)
    paragraphs = unique

    found_title = ""
    if detect_headline and len(paragraphs) >= 2 and looks_like_headline(paragraphs[0]):
        found_title = paragraphs.pop(0)

    outlet, place = "", ""
    for p in paragraphs[:3]:
        if m := _PLACE_OUTLET.match(p):
            place, outlet = m["place"], m["outlet"].strip()
        elif m := _OUTLET_ONLY.match(p):
            outlet = m["outlet"].strip()
        elif m := _PLACE_ONLY.match(p):
            place = m["place"]
        if outlet or place:
            break

    return Cleaned(
        text="\n\n".join(paragraphs),
        title=title.strip() or found_title,
        date=date or found_date,
        source=source.strip() or outlet or place,
        dateline=place,
    )
