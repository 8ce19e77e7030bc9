"""Sentence-aware, overlapping chunks sized in tiktoken tokens and bounded by the embedder.

Every chunk is a span of the cleaned article text (start/end offsets). Two budgets hold:
* its text has at most ``chunk_tokens`` cl100k tokens (a single longer sentence is cut at
  word boundaries, or between characters for scripts written without spaces);
* ``embedding_prefix + text`` has at most the embedder's word-piece limit (254 for
  all-MiniLM-L6-v2: 256 positions less [CLS] and [SEP]), so nothing is silently truncated.
Neighbouring chunks share whole sentences worth up to ``chunk_overlap`` tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.text.sentences import sentence_spans

CHUNKER_VERSION = "1"  # part of the index fingerprint


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int
    text: str


def embedding_prefix(title: str) -> str:
    """What is embedded (and keyword-indexed) in front of each chunk's text."""
    return f"{title.strip()}\n" if title.strip() else ""


class Chunker:
    def __init__(self, chunk_tokens: int, chunk_overlap: int, count_tokens: Callable[[str], int],
                 count_embedder_tokens: Callable[[str], int], embedder_limit: int):
        self.chunk_tokens = chunk_tokens
        self.chunk_overlap = chunk_overlap
        self.count_tokens = count_tokens
        self.count_embedder_tokens = count_embedder_tokens
        self.embedder_limit = embedder_limit

    def within(self, text: str, budget: int) -> bool:
        """At most ``budget`` tokens. Every token is at least one UTF-8 byte, so a text of no more bytes
        than that fits without counting (and a file of short records never loads tiktoken's 38 MB)."""
        return len(text.encode("utf-8")) <= budget or self.count_tokens(text) <= budget

    def fits(self, text: str, prefix: str) -> bool:
        return (self.within(text, self.chunk_tokens)
                and self.count_embedder_tokens(prefix + text) <= self.embedder_limit)

    def split(self, text: str, title: str = "") -> list[Chunk]:
        prefix = embedding_prefix(title)
        if self.count_embedder_tokens(prefix) > self.embedder_limit // 2:
            prefix = ""  # an absurdly long title is not allowed to starve the chunks
        spans = sentence_spans(text)
        if spans and self.fits(text[spans[0][0]:spans[-1][1]], prefix):  # a short article: one chunk, one count
            return [Chunk(0, spans[0][0], spans[-1][1], text[spans[0][0]:spans[-1][1]])]
        units: list[tuple[int, int]] = []
        for s, e in spans:
            units.extend(self._pieces(text, s, e, prefix))
        chunks: list[Chunk] = []
        i = 0
        while i < len(units):
            j = i + 1  # a unit always fits on its own (see _pieces)
            while j < len(units) and self.fits(text[units[i][0]:units[j][1]], prefix):
                j += 1
            start, end = units[i][0], units[j - 1][1]
            chunks.append(Chunk(len(chunks), start, end, text[start:end]))
            if j >= len(units):
                break
            # overlap: the trailing sentences of this chunk within the overlap budget
            k = j
            while k - 1 > i and self.within(text[units[k - 1][0]:units[j - 1][1]], self.chunk_overlap):
                k -= 1
            # the next chunk must reach past this one: shrink the overlap until it can
            while k < j and not self.fits(text[units[k][0]:units[j][1]], prefix):
                k += 1
            i = k
        return chunks

    def _pieces(self, text: str, start: int, end: int, prefix: str) -> list[tuple[int, int]]:
        """The sentence itself if it fits, else word-boundary pieces that each fit."""
        if self.fits(text[start:end], prefix):
            return [(start, end)]
        words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
        atoms: list[tuple[int, int]] = []
        for ws, we in words:
            if self.fits(text[ws:we], prefix):
                atoms.append((ws, we))
            else:  # a run without spaces (CJK, Thai, a URL): cut between characters
                atoms.extend((c, c + 1) for c in range(ws, we))
        pieces: list[tuple[int, int]] = []
        i = 0
        while i < len(atoms):
            lo, hi = i + 1, len(atoms)  # binary search the longest run of atoms that fits
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if self.fits(text[atoms[i][0]:atoms[mid - 1][1]], prefix):
                    lo = mid
                else:
                    hi = mid - 1
            pieces.append((atoms[i][0], atoms[lo - 1][1]))
            i = lo
        return pieces


def chunker_for(settings, embedder) -> Chunker:
    """The chunker the settings and embedder call for (tiktoken budget + embedder's word-piece limit)."""
    from assistant.text.tokens import count_tiktoken

    return Chunker(settings.chunk_tokens, settings.chunk_overlap, count_tiktoken,
                   embedder.counter.count, embedder.counter.limit)
