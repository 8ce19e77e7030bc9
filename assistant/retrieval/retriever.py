"""``NewsRetriever``: hybrid search over the index, as a LangChain retriever.

    from assistant import NewsRetriever
    docs = NewsRetriever(index_dir="index", k=4).invoke("how many ISIS detainees has Iraq received?")

Modes: ``hybrid`` (dense + BM25 fused by reciprocal rank, the default), ``dense``, ``bm25``.
Filters: ``date_from`` / ``date_to`` (YYYY, YYYY-MM or YYYY-MM-DD; undated articles are
excluded only when one is set) and ``sources`` (outlets, case-insensitive).
Near-duplicate passages are dropped and the list refilled, so ``k`` results come back
whenever the index holds ``k`` distinct passages.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from assistant.errors import IndexStateError
from assistant.index.keyword import KeywordIndex
from assistant.index.layout import IndexDir
from assistant.retrieval.filters import Filters, check_mode, parse_date_bound
from assistant.settings import Settings


def rrf_fuse(rankings: Sequence[Sequence[str]], k: int = 60) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion: score(id) = sum over rankings of 1 / (k + rank), rank from 1."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, 1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
    first_seen = {cid: i for i, cid in enumerate(c for r in rankings for c in r)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], first_seen[kv[0]]))


def _shingles(text: str, n: int = 3) -> set:
    words = re.findall(r"\w+", text.casefold())
    if len(words) < n:
        return {tuple(words)}
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass
class _Snapshot:
    stamp: tuple[int, int]
    table: KeywordIndex
    embedder: str


class NewsRetriever(BaseRetriever):
    """Hybrid (dense + BM25) retriever over an index built by ``assistant ingest``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index_dir: Path | None = None
    k: int = 4
    mode: str = "hybrid"
    date_from: str | None = None
    date_to: str | None = None
    sources: list[str] | None = None
    settings: Settings | None = None
    embedder: Any = None  # a LangChain Embeddings; default: the one named by the settings

    _snapshot: _Snapshot | None = PrivateAttr(default=None)
    _store: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _sentence_vectors: dict = PrivateAttr(default_factory=dict)  # chunk id -> its sentences' vectors

    def __init__(self, **data: Any) -> None:
        # validated here, not in a pydantic validator, so callers get FilterError's one line
        check_mode(data.get("mode", "hybrid"))
        parse_date_bound(data.get("date_from"), upper=False, name="date_from")
        parse_date_bound(data.get("date_to"), upper=True, name="date_to")
        super().__init__(**data)

    def model_post_init(self, __context: Any) -> None:
        base = self.settings or Settings.from_env()
        if self.index_dir is None:
            self.index_dir = base.index_dir
        self.settings = base.with_overrides(index_dir=Path(self.index_dir))

    # ------------------------------------------------------------------ index access
    def _load(self) -> _Snapshot:
        index = IndexDir(self.settings.index_dir)
        with self._lock:
            stamp = index.manifest_stamp()
            if self._snapshot is None or self._snapshot.stamp != stamp:
                manifest = index.read_manifest()
                table = (KeywordIndex.load(index.keyword_dir / manifest.generation) if manifest.generation
                         else KeywordIndex([], [], []))
                self._snapshot = _Snapshot(stamp, table, manifest.embedder)
            return self._snapshot

    def _get_embedder(self):
        if self.embedder is None:
            from assistant.models.embedders import get_embedder

            self.embedder = get_embedder(self.settings.embedder)
        return self.embedder

    def _get_store(self):
        if self._store is None:
            from assistant.index.vectors import VectorStore

            self._store = VectorStore(self.settings.index_dir, self._get_embedder(), self.settings.chroma_url)
        return self._store

    # ------------------------------------------------------------------ search
    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None,
                                k: int | None = None, mode: str | None = None, date_from: str | None = None,
                                date_to: str | None = None, sources: list[str] | None = None) -> list[Document]:
        k = self.k if k is None else int(k)
        mode = check_mode(mode or self.mode)
        filters = Filters.parse(date_from if date_from is not None else self.date_from,
                                date_to if date_to is not None else self.date_to,
                                sources if sources is not None else self.sources)

        snap = self._load()
        table = snap.table
        if k <= 0 or not len(table):
            return []
        if mode != "bm25":
            name = getattr(self._get_embedder(), "name", None)
            if snap.embedder and name and snap.embedder != name:
                raise IndexStateError(f"the index was built with embedder {snap.embedder!r} but {name!r} is "
                                      f"configured: set ASSISTANT_EMBEDDER or run `assistant ingest` again")

        allowed = filters.mask(table)
        n_allowed = int(allowed.sum())
        if n_allowed == 0:
            return []
        where = filters.where(table)
        bm25_scores = table.scores(query) if mode != "dense" else None
        query_vec = self._get_embedder().embed_query(query) if mode != "bm25" else None

        depth = min(n_allowed, max(4 * k, 20))
        # chunks of an unfinished ingest are in Chroma but not in this snapshot: ask for that many more
        orphans = max(0, self._get_store().count() - len(table)) if query_vec is not None else 0
        while True:
            dense: list[tuple[str, float]] = []
            if query_vec is not None:
                dense = [(cid, s) for cid, s in self._get_store().query(query_vec, depth + orphans, where)
                         if cid in table.position and allowed[table.position[cid]]]
            keyword: list[tuple[str, float]] = []
            if bm25_scores is not None:
                masked = np.where(allowed, bm25_scores, -1.0)
                order = np.argsort(-masked, kind="stable")[:depth]
                keyword = [(table.ids[i], float(masked[i])) for i in order
                           if masked[i] > 0 or (mode == "bm25" and masked[i] == 0)]
            if mode == "hybrid":
                ranked = rrf_fuse([[c for c, _ in dense], [c for c, _ in keyword]], self.settings.rrf_k)
                fused = dict(ranked)
                ranked = self._rerank(ranked, query_vec, dict(keyword), table)
            else:
                ranked = dense if mode == "dense" else keyword
            picked = self._dedup(ranked, table, k, exhausted=depth >= n_allowed)
            if len(picked) >= k or depth >= n_allowed:
                break
            depth = min(n_allowed, depth * 2)

        dense_scores, kw_scores = dict(dense), dict(keyword)
        fused_scores = fused if mode == "hybrid" else {}
        dense_rank = {c: i for i, (c, _) in enumerate(dense, 1)}
        kw_rank = {c: i for i, (c, _) in enumerate(keyword, 1)}
        docs = []
        for rank, (cid, score) in enumerate(picked, 1):
            pos = table.position[cid]
            meta = dict(table.metas[pos])
            meta["date"] = meta.get("date") or None
            meta.update(score=round(float(score), 6), rank=rank, mode=mode,
                        dense_score=_round(dense_scores.get(cid)), bm25_score=_round(kw_scores.get(cid)),
                        dense_rank=dense_rank.get(cid), bm25_rank=kw_rank.get(cid),
                        **({"fused_score": _round(fused_scores.get(cid))} if fused_scores else {}))
            docs.append(Document(id=cid, page_content=table.texts[pos], metadata=meta))
        return docs

    def _rerank(self, ranked: list[tuple[str, float]], query_vec, bm25: dict[str, float],
                table: KeywordIndex) -> list[tuple[str, float]]:
        """The first ``rerank_depth`` fused candidates re-scored: the cosine of their best sentence
        with the query, plus ``rerank_keyword_weight`` times their BM25 score scaled to 0..1 among
        them. A passage is as relevant as its most relevant sentence; the keyword term keeps exact
        names and figures in play. The rest keep their fused order below."""
        depth = self.settings.rerank_depth
        if depth <= 0 or not ranked:
            return ranked
        head, tail = ranked[:depth], ranked[depth:]
        ids = [cid for cid, _ in head]
        best = self._best_sentence_scores(ids, query_vec, table)
        kw = [bm25.get(cid, 0.0) for cid in ids]
        lo, hi = min(kw), max(kw)
        scaled = [(x - lo) / (hi - lo) if hi > lo else 0.0 for x in kw]
        weight = self.settings.rerank_keyword_weight
        order = {cid: i for i, cid in enumerate(ids)}
        rescored = sorted(((cid, best[i] + weight * scaled[i]) for i, cid in enumerate(ids)),
                          key=lambda cs: (-cs[1], order[cs[0]]))
        floor = min(s for _, s in rescored)
        return rescored + [(cid, floor - 1.0 + s) for cid, s in tail]

    def _best_sentence_scores(self, ids: list[str], query_vec, table: KeywordIndex) -> list[float]:
        """For each chunk, the highest cosine between the query and one of its sentences (sentence
        vectors remembered per chunk)."""
        from assistant.text.sentences import split_sentences

        missing = [cid for cid in ids if cid not in self._sentence_vectors]
        if missing:
            texts = [split_sentences(table.texts[table.position[cid]]) or [table.texts[table.position[cid]]]
                     for cid in missing]
            flat = [t for ts in texts for t in ts]
            vectors = np.asarray(self._get_embedder().embed_documents(flat), dtype=np.float32)
            if len(self._sentence_vectors) > 50_000:
                self._sentence_vectors.clear()
            at = 0
            for cid, ts in zip(missing, texts, strict=False):
                self._sentence_vectors[cid] = vectors[at:at + len(ts)]
                at += len(ts)
        q = np.asarray(query_vec, dtype=np.float32)
        return [float((self._sentence_vectors[cid] @ q).max()) for cid in ids]

    def _dedup(self, ranked: list[tuple[str, float]], table: KeywordIndex, k: int,
               exhausted: bool) -> list[tuple[str, float]]:
        """Top k without near-duplicates, at most ``max_per_doc`` passages an article while other
        articles have candidates (so differing reports of one story all get a chance), refilled."""
        cap = self.settings.max_per_doc or k
        picked: list[tuple[str, float]] = []
        kept: list[set] = []
        over_cap: list[tuple[str, float, set]] = []
        per_doc: dict[str, int] = {}

        def near_duplicate(sh: set) -> bool:
            return any(jaccard(sh, other) >= self.settings.dedup_threshold for other in kept)

        for cid, score in ranked:
            sh = _shingles(table.texts[table.position[cid]])
            if near_duplicate(sh):
                continue
            doc = table.metas[table.position[cid]]["doc_id"]
            if per_doc.get(doc, 0) >= cap:
                over_cap.append((cid, score, sh))
                continue
            per_doc[doc] = per_doc.get(doc, 0) + 1
            picked.append((cid, score))
            kept.append(sh)
            if len(picked) == k:
                return picked
        if not exhausted:
            return picked  # look deeper for other articles before giving way
        for cid, score, sh in over_cap:  # not enough other articles: allow more from the same one
            if near_duplicate(sh):
                continue
            picked.append((cid, score))
            kept.append(sh)
            if len(picked) == k:
                break
        picked.sort(key=lambda cs: -cs[1])
        return picked

def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)
