"""Sentence spans over cleaned article text.

Spans are (start, end) character offsets into the text, so chunks and citations can
quote the article exactly. Paragraph breaks always end a sentence.
"""

from __future__ import annotations

import re

from assistant.text.facts import MONTH_ABBREVIATIONS

# Abbreviations after which a period does not end a sentence (months from text.facts, which reads
# them from `calendar`; "may" is a whole word, so "in May." ends a sentence).
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "gen", "col", "lt", "sgt", "capt", "gov", "sen", "rep",
    "pres", "rev", "hon", "no", "vs", "etc", "inc", "ltd", "co", "corp", "dept", "est", "approx", "fig",
    "u.s", "u.k", "u.n", "e.g", "i.e", "a.m", "p.m", "d.c",
} | (set(MONTH_ABBREVIATIONS) - {"may"})

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then space.
_BOUNDARY = re.compile(r"""([.!?]+|[。！？])(["'”’)\]]*)(\s+|(?<=[。！？])(?=\S))""")
_PARAGRAPH = re.compile(r"\n\s*\n|\n")


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    pos = 0
    for m in _PARAGRAPH.finditer(text):
        if text[pos:m.start()].strip():
            spans.append(_strip_span(text, pos, m.start()))
        pos = m.end()
    if text[pos:].strip():
        spans.append(_strip_span(text, pos, len(text)))
    return spans


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split ``text`` into sentence spans (never crossing a paragraph break)."""
    spans: list[tuple[int, int]] = []
    for p_start, p_end in paragraph_spans(text):
        start = p_start
        para = text[p_start:p_end]
        for m in _BOUNDARY.finditer(para):
            end = p_start + m.end(2)
            if end >= p_end:
                break
            if not _is_boundary(para, m):
                continue
            if text[start:end].strip():
                spans.append(_strip_span(text, start, end))
            start = p_start + m.end()
        if text[start:p_end].strip():
            spans.append(_strip_span(text, start, p_end))
    return spans


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def _is_boundary(para: str, m: re.Match) -> bool:
    punct = m.group(1)
    if punct in "。！？":
        return True
    after = para[m.end():m.end() + 1]
    if after and after.islower():
        return False  # "... e.g. something", "5 p.m. local time"
    if punct == ".":
        word = re.search(r"([\w.]+)$", para[: m.start(1)])
        if word:
            w = word.group(1).lower()
            if w in _ABBREVIATIONS:
                return False
            if len(w) == 1 and w.isalpha():  # an initial: "John F. Kennedy"
                return False
            if re.fullmatch(r"(?:[a-z]\.)+[a-z]", w):  # "U.S", "e.g"
                return False
            if w.isdigit() and after.isdigit():
                return False
    return True


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
