"""``NewsRetriever``: hybrid search over the index, as a LangChain retriever.

    from assistant import NewsRetriever
    docs = NewsRetriever(index_dir="index", k=4).invoke("how many ISIS detainees has Iraq received?")

Modes: ``hybrid`` (dense + BM25 fused by reciprocal rank, then re-scored by best sentence, the
default), ``dense``, ``bm25``. Filters: ``date_from`` / ``date_to`` (YYYY, YYYY-MM or YYYY-MM-DD;
undated articles are excluded only when one is set) and ``sources`` (outlets, case-insensitive).
Near-duplicate passages are dropped and the list refilled, so ``k`` results come back whenever the
index holds ``k`` distinct passages.

A question's cost follows k, not the corpus: Chroma returns the nearest chunks with their texts and
stored sentence vectors, the keyword index (tantivy) its best hits, both with the filters applied
inside them; only chunks of article versions the catalog snapshot lists count (an unfinished
ingest's chunks never show); nothing is embedded but the question.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from assistant.errors import IndexStateError
from assistant.index.layout import IndexDir
from assistant.index.vectors import ChunkRow, public_meta
from assistant.retrieval.filters import Filters, check_mode, check_query, parse_date_bound
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

    _catalog: Any = PrivateAttr(default=None)
    _keyword: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

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
    def _get_embedder(self):
        if self.embedder is None:
            from assistant.models.embedders import get_embedder

            self.embedder = get_embedder(self.settings.embedder)
        return self.embedder

    @property
    def store(self):
        return self._open().store

    def _open(self):
        with self._lock:
            if self._catalog is None:
                from assistant.index.catalog import Catalog
                from assistant.index.keyword import open_keyword_index
                from assistant.index.vectors import open_store

                index = IndexDir(self.settings.index_dir)
                self._catalog = Catalog(index, open_store(self.settings, self._get_embedder()))
                self._keyword = open_keyword_index(index.keyword_dir)
            return self._catalog

    def snapshot(self):
        """The catalog as of the last commit, with the keyword index in step with it."""
        catalog = self._open()
        snap = catalog.snapshot()
        if self._keyword.catalog_version != snap.version:
            self._keyword.sync(lambda: snap.live, snap.version, catalog.store.chunks_of)
        return snap

    # ------------------------------------------------------------------ search
    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None,
                                k: int | None = None, mode: str | None = None, date_from: str | None = None,
                                date_to: str | None = None, sources: list[str] | None = None) -> list[Document]:
        k = self.k if k is None else int(k)
        mode = check_mode(mode or self.mode)
        check_query(query, self.settings.max_question_chars)
        filters = Filters.parse(date_from if date_from is not None else self.date_from,
                                date_to if date_to is not None else self.date_to,
                                sources if sources is not None else self.sources)
        snap = self.snapshot()
        if k <= 0 or snap.empty:
            return []
        if mode != "bm25":
            name = getattr(self._get_embedder(), "name", None)
            if snap.embedder and name and snap.embedder != name:
                raise IndexStateError(f"the index was built with embedder {snap.embedder!r} but {name!r} is "
                                      f"configured: set ASSISTANT_EMBEDDER or run `assistant ingest` again")
        search = _Search(self, snap, query, mode, filters)
        picked = search.run(k)
        return search.documents(picked)


class _Search:
    """One query: dense and keyword candidates, deepened until k distinct passages are found or
    both sides are exhausted. Only chunks of the article versions the snapshot lists count."""

    def __init__(self, retriever: NewsRetriever, snap, query: str, mode: str, filters: Filters):
        self.r = retriever
        self.snap = snap
        self.settings = retriever.settings
        self.store = retriever.store
        self.query = query
        self.mode = mode
        self.filters = filters
        self.rows: dict[str, ChunkRow] = {}  # every candidate seen, with its text and metadata
        self.query_vec = retriever._get_embedder().embed_query(query) if mode != "bm25" else None
        self.dense: list[tuple[str, float]] = []
        self.keyword: list[tuple[str, float]] = []
        self.fused: dict[str, float] = {}

    def run(self, k: int) -> list[tuple[str, float]]:
        depth = max(4 * k, 20)
        while True:
            found = self.store.query_ids(self.query_vec, depth, self.filters.where()) \
                if self.query_vec is not None else []
            keyword_done = self._keyword(depth) if self.mode != "dense" else True
            self._load([cid for cid, _ in found] + [cid for cid, _ in self.keyword])  # one local read
            # the nearest chunks that are part of the corpus: those the keyword index (the local copy of the
            # live chunks) holds; an unfinished ingest's chunks never are
            self.dense = [(cid, score) for cid, score in found if cid in self.rows]
            dense_done = len(found) < depth
            if self.mode == "hybrid":
                ranked = rrf_fuse([[c for c, _ in self.dense], [c for c, _ in self.keyword]], self.settings.rrf_k)
                self.fused = dict(ranked)
                ranked = self._rerank(ranked)
            else:
                ranked = self.dense if self.mode == "dense" else self.keyword
            exhausted = dense_done and keyword_done
            self._load([cid for cid, _ in ranked])
            ranked = [(cid, score) for cid, score in ranked if cid in self.rows]
            picked = _dedup(ranked, self.rows, k, self.settings, exhausted=exhausted)
            if len(picked) >= k or exhausted:
                return picked
            depth *= 2

    def _keyword(self, depth: int) -> bool:
        bounds = {"date_from": self.filters.lo, "date_to": self.filters.hi, "sources": self.filters.sources}
        hits = self.r._keyword.search(self.query, depth, rows=self.rows, **bounds)
        self.keyword = list(hits)
        done = len(hits) < depth
        if done and self.mode == "bm25":
            # keyword mode on its own: chunks without any of the words follow at score 0, so k still come back
            room = depth - len(self.keyword)
            more = self.r._keyword.search(self.query, room, match_all=True, exclude={c for c, _ in hits},
                                          rows=self.rows, **bounds)
            self.keyword += more
            done = len(more) < room
        return done

    def _load(self, ids: list[str]) -> None:
        missing = [cid for cid in ids if cid not in self.rows]
        if missing:
            self.rows.update(self.r._keyword.rows(missing))

    def _rerank(self, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """The first ``rerank_depth`` fused candidates re-scored: the cosine of their best sentence
        with the query (sentence vectors stored at ingest), plus ``rerank_keyword_weight`` times
        their BM25 score scaled to 0..1 among them. A passage is as relevant as its most relevant
        sentence; the keyword term keeps exact names and figures in play. The rest keep their fused
        order below."""
        depth = self.settings.rerank_depth
        if depth <= 0 or not ranked:
            return ranked
        head, tail = ranked[:depth], ranked[depth:]
        ids = [cid for cid, _ in head]
        self._load(ids)
        best = self._best_sentence_scores(ids)
        bm25 = dict(self.keyword)
        kw = [bm25.get(cid, 0.0) for cid in ids]
        lo, hi = min(kw), max(kw)
        scaled = [(x - lo) / (hi - lo) if hi > lo else 0.0 for x in kw]
        weight = self.settings.rerank_keyword_weight
        order = {cid: i for i, cid in enumerate(ids)}
        rescored = sorted(((cid, best[i] + weight * scaled[i]) for i, cid in enumerate(ids)),
                          key=lambda cs: (-cs[1], order[cs[0]]))
        floor = min(s for _, s in rescored)
        return rescored + [(cid, floor - 1.0 + s) for cid, s in tail]

    def _best_sentence_scores(self, ids: list[str]) -> list[float]:
        """For each chunk, the highest cosine between the query and one of its sentences."""
        q = np.asarray(self.query_vec, dtype=np.float32)
        out = []
        for cid in ids:
            spans, vectors = self.rows[cid].sentence_matrix()
            if not spans:  # a chunk stored without sentence vectors: embed its sentences now
                from assistant.models.embedders import embed_array
                from assistant.text.sentences import split_sentences

                text = self.rows[cid].text
                vectors = embed_array(self.r._get_embedder(), split_sentences(text) or [text])
            out.append(float((vectors @ q).max()))
        return out

    def documents(self, picked: list[tuple[str, float]]) -> list[Document]:
        """The picked chunks as Documents with their scores; their stored sentence vectors are handed
        to the answer engines (``embedders.remember``), so no retrieved sentence is embedded again."""
        from assistant.models.embedders import remember

        dense_scores, kw_scores = dict(self.dense), dict(self.keyword)
        dense_rank = {c: i for i, (c, _) in enumerate(self.dense, 1)}
        kw_rank = {c: i for i, (c, _) in enumerate(self.keyword, 1)}
        name = getattr(self.r._get_embedder(), "name", "") if self.mode != "bm25" else ""
        docs = []
        for rank, (cid, score) in enumerate(picked, 1):
            row = self.rows[cid]
            meta = public_meta(row.meta)
            meta["date"] = meta.get("date") or None
            meta.update(score=round(float(score), 6), rank=rank, mode=self.mode,
                        dense_score=_round(dense_scores.get(cid)), bm25_score=_round(kw_scores.get(cid)),
                        dense_rank=dense_rank.get(cid), bm25_rank=kw_rank.get(cid),
                        **({"fused_score": _round(self.fused.get(cid))} if self.fused else {}))
            docs.append(Document(id=cid, page_content=row.text, metadata=meta))
            stored = row.sentence_vectors()
            if name and stored:
                remember(name, [row.text[s:e] for s, e, _ in stored], [v for _, _, v in stored])
        return docs


def _dedup(ranked: list[tuple[str, float]], rows: dict[str, ChunkRow], k: int, settings: Settings,
           exhausted: bool) -> list[tuple[str, float]]:
    """Top k without near-duplicates, at most ``max_per_doc`` passages an article while other
    articles have candidates (so differing reports of one story all get a chance), refilled."""
    cap = settings.max_per_doc or k
    picked: list[tuple[str, float]] = []
    kept: list[set] = []
    over_cap: list[tuple[str, float, set]] = []
    per_doc: dict[str, int] = {}

    def near_duplicate(sh: set) -> bool:
        return any(jaccard(sh, other) >= settings.dedup_threshold for other in kept)

    for cid, score in ranked:
        sh = _shingles(rows[cid].text)
        if near_duplicate(sh):
            continue
        doc = rows[cid].meta.get("doc_id", "")
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
