"""The BM25 keyword index (bm25s), persisted next to the chunk table it scores.

One ``KeywordIndex`` is an immutable snapshot written to its own folder
(``index/keyword/<generation>/``): ingest writes a new one and then switches the
manifest to it, so a reader always sees BM25 scores and chunk texts of one generation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from assistant.text.words import tokenize


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
