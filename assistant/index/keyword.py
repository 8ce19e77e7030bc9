"""The BM25 keyword index (bm25s), persisted next to the chunk table it scores.

One ``KeywordIndex`` is an immutable snapshot written to its own folder
(``index/keyword/<generation>/``): ingest writes a new one and then switches the
manifest to it, so a reader always sees BM25 scores and chunk texts of one generation.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours yourself yourselves
said says say according
""".split())

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens without stop words; numbers keep their value
    ("5,500" -> "5500"); scripts written without spaces give one token per character."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok[0].isdigit():
            out.append(tok.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", tok) else tok)
        elif _CJK.search(tok):
            out.extend(ch for ch in tok)
        elif tok not in STOPWORDS and len(tok) > 1:
            out.append(tok)
    words = [t for t in out if not t[0].isdigit() and not _CJK.match(t)]
    stems = dict(zip(words, _stemmer().stemWords(words), strict=False)) if words else {}
    return [stems.get(t, t) for t in out]


def keyword_text(text: str, meta: dict) -> str:
    """What BM25 scores for a chunk: its article's title and outlet, then its text."""
    return "\n".join(x for x in (meta.get("title", ""), meta.get("source", ""), text) if x)


class KeywordIndex:
    """BM25 over a chunk table: ``ids``, ``texts`` (what was indexed) and ``metas``."""

    def __init__(self, ids: list[str], texts: list[str], metas: list[dict], bm25=None, tokens=None):
        self.ids = ids
        self.texts = texts
        self.metas = metas
        self.position = {cid: i for i, cid in enumerate(ids)}
        if bm25 is None and ids:
            bm25 = _build(tokens if tokens is not None else
                          [tokenize(keyword_text(t, m)) for t, m in zip(texts, metas, strict=False)])
        self.bm25 = bm25

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk, in table order."""
        if not self.ids:
            return np.zeros(0)
        q = [t for t in tokenize(query) if t in self.bm25.vocab_dict]
        if not q:
            return np.zeros(len(self.ids))
        return np.asarray(self.bm25.get_scores(q), dtype=float)

    # -------------------------------------------------------------- persistence
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=False)
        with open(folder / "chunks.jsonl", "w", encoding="utf-8") as f:
            for cid, text, meta in zip(self.ids, self.texts, self.metas, strict=False):
                f.write(json.dumps({"id": cid, "text": text, "meta": meta}, ensure_ascii=False) + "\n")
        if self.bm25 is not None:
            self.bm25.save(str(folder / "bm25"), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        import bm25s

        ids, texts, metas = [], [], []
        with open(folder / "chunks.jsonl", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                ids.append(row["id"])
                texts.append(row["text"])
                metas.append(row["meta"])
        bm25 = bm25s.BM25.load(str(folder / "bm25")) if ids else None
        return cls(ids, texts, metas, bm25=bm25)


def _build(corpus_tokens: list[list[str]]):
    import bm25s

    bm25 = bm25s.BM25()
    # bm25s needs at least one token per document
    bm25.index([toks or ["\u2205"] for toks in corpus_tokens], show_progress=False)
    return bm25
