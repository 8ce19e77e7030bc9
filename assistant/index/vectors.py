"""Chroma, and only here: the store of everything the index holds, embedded (``index/chroma``) or a
server (``ASSISTANT_CHROMA_URL``), in three collections named after the corpus (``ASSISTANT_CORPUS``):

    <corpus>_chunks    one record per chunk: its vector (the mean of its sentences' vectors), its text,
                       its metadata (article fields, offsets, ``version``) and its sentence vectors
                       (``sentences``: spans in the chunk; ``sentence_vectors``: float16, base64)
    <corpus>_articles  one record per indexed article: the cleaned text (citations quote it by offsets)
                       and its ``DocEntry`` as metadata
    <corpus>_catalog   small records: the catalog's version and settings, the writer's lease, the
                       versions an unfinished writer added

Vectors are computed by our embedder and always passed in; every collection still gets an embedding
function (ours, or a constant one for the record collections), because Chroma's default downloads a
model. Several processes, even on several machines, can share one Chroma server: nothing else is needed.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.errors import ChromaStoreError
from assistant.index.layout import DocEntry

PAGE = 2000  # records per Chroma call when reading or writing many


class _Gate:
    """Many users at once, or one ``reopen`` alone: replacing the embedded client stops Chroma's
    process-wide system, which must not happen under a query of another thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._users = 0
        self._closing = False

    @contextlib.contextmanager
    def shared(self):
        with self._cond:
            while self._closing:
                self._cond.wait()
            self._users += 1
        try:
            yield
        finally:
            with self._cond:
                self._users -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self):
        with self._cond:
            while self._closing:
                self._cond.wait()
            self._closing = True
            while self._users:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._closing = False
                self._cond.notify_all()


_GATE = _Gate()


def _gated(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _GATE.shared():
            return method(*args, **kwargs)
    return wrapper


@dataclass
class ChunkRow:
    id: str
    text: str
    meta: dict
    score: float | None = None  # cosine similarity, for query results

    @property
    def version(self) -> str:
        return self.meta.get("version", "")

    def sentence_vectors(self) -> list[tuple[int, int, np.ndarray]]:
        """(start, end, vector) of each sentence of the chunk, as stored at ingest; [] when none."""
        return unpack_sentences(self.meta)


# ---------------------------------------------------------------------------- sentence vectors in metadata
def pack_sentences(spans: Sequence[tuple[int, int]], vectors: np.ndarray) -> dict:
    """Chunk metadata holding its sentences' spans and vectors (float16, base64: Chroma metadata
    values are scalars)."""
    return {"sentences": ",".join(f"{s}:{e}" for s, e in spans),
            "sentence_vectors": base64.b64encode(np.asarray(vectors, dtype=np.float16).tobytes()).decode("ascii")}


def unpack_sentences(meta: dict) -> list[tuple[int, int, np.ndarray]]:
    raw, spans = meta.get("sentence_vectors"), meta.get("sentences")
    if not raw or not spans:
        return []
    pairs = [tuple(int(x) for x in item.split(":")) for item in spans.split(",")]
    vectors = np.frombuffer(base64.b64decode(raw), dtype=np.float16).astype(np.float32).reshape(len(pairs), -1)
    return [(s, e, v) for (s, e), v in zip(pairs, vectors, strict=True)]


def public_meta(meta: dict) -> dict:
    """Chunk metadata as callers see it: without the packed sentence vectors and the folded outlet."""
    return {k: v for k, v in meta.items() if k not in ("sentences", "sentence_vectors", "source_cf")}


# ---------------------------------------------------------------------------- embedding functions
def _embedding_function(embedder):
    from chromadb.api.types import EmbeddingFunction

    class AssistantEmbeddingFunction(EmbeddingFunction):
        def __init__(self, embedder) -> None:
            self._embedder = embedder

        def __call__(self, input):  # noqa: A002 (Chroma's signature)
            return self._embedder.embed_documents(list(input))

        @staticmethod
        def name() -> str:
            return "news-assistant"

        def get_config(self) -> dict[str, Any]:
            return {"embedder": getattr(self._embedder, "spec", "minilm")}

        @staticmethod
        def build_from_config(config: dict[str, Any]):
            from assistant.models.embedders import get_embedder

            return AssistantEmbeddingFunction(get_embedder(config.get("embedder", "minilm")))

        def default_space(self):
            return "cosine"

    return AssistantEmbeddingFunction(embedder)


def _record_function():
    """For collections of records that are never searched by vector: a constant one-number vector."""
    from chromadb.api.types import EmbeddingFunction

    class RecordEmbeddingFunction(EmbeddingFunction):
        def __init__(self) -> None:
            pass

        def __call__(self, input):  # noqa: A002
            return [[1.0] for _ in input]

        @staticmethod
        def name() -> str:
            return "news-assistant-records"

        def get_config(self) -> dict[str, Any]:
            return {}

        @staticmethod
        def build_from_config(config: dict[str, Any]):
            return RecordEmbeddingFunction()

    return RecordEmbeddingFunction()


def _chroma_meta(meta: dict) -> dict:
    """Chroma metadata values must be str/int/float/bool: drop None."""
    return {k: v for k, v in meta.items() if v is not None}


# ---------------------------------------------------------------------------- the store
class ChromaStore:
    def __init__(self, index_dir: Path, embedder, chroma_url: str = "", corpus: str = "news"):
        self.index_dir = Path(index_dir)
        self.embedder = embedder
        self.chroma_url = chroma_url
        self.corpus = corpus
        self.connect()

    @property
    def is_server(self) -> bool:
        return bool(self.chroma_url)

    def connect(self) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False)
        if self.chroma_url:
            url = self.chroma_url
            u = urlparse(url if "://" in url else f"http://{url}")
            try:
                self.client = chromadb.HttpClient(host=u.hostname or "127.0.0.1",
                                                  port=u.port or (443 if u.scheme == "https" else 8000),
                                                  ssl=u.scheme == "https", settings=settings)
                self.client.heartbeat()
            except Exception as exc:  # connection refused, DNS, ...
                raise ChromaStoreError(f"ASSISTANT_CHROMA_URL: cannot reach Chroma at {url}: {exc}") from None
        else:
            self.client = chromadb.PersistentClient(path=str(self.index_dir / "chroma"), settings=settings)
        try:
            self.chunks = self.client.get_or_create_collection(
                name=f"{self.corpus}_chunks", embedding_function=_embedding_function(self.embedder),
                metadata={"hnsw:space": "cosine"})
            self.articles = self.client.get_or_create_collection(name=f"{self.corpus}_articles",
                                                                 embedding_function=_record_function())
            self.catalog = self.client.get_or_create_collection(name=f"{self.corpus}_catalog",
                                                                embedding_function=_record_function())
        except Exception as exc:
            raise ChromaStoreError(f"Chroma: cannot open the corpus {self.corpus!r}: {exc}") from None

    def reopen(self) -> None:
        """See what another process wrote to the embedded store: Chroma keeps each process's vector
        index in memory, so every embedded store of this process gets a fresh client."""
        if self.is_server:
            return
        from chromadb.api.client import SharedSystemClient

        with _GATE.exclusive():
            SharedSystemClient.clear_system_cache()
            for store in list(_STORES.values()):
                if not store.is_server:
                    store.connect()

    # ------------------------------------------------------------------ chunks
    @_gated
    def add_chunks(self, ids: Sequence[str], vectors, texts: Sequence[str], metas: Sequence[dict]) -> None:
        for i in range(0, len(ids), PAGE):
            self.chunks.upsert(ids=list(ids[i:i + PAGE]), documents=list(texts[i:i + PAGE]),
                               metadatas=[_chroma_meta(m) for m in metas[i:i + PAGE]],
                               embeddings=[list(map(float, v)) for v in vectors[i:i + PAGE]])

    @_gated
    def query(self, vector, n: int, where: dict | None = None) -> list[ChunkRow]:
        """The ``n`` nearest chunks (fewer when the store or the filter holds fewer), best first."""
        if n <= 0:
            return []
        try:
            res = self.chunks.query(query_embeddings=[list(map(float, vector))], n_results=n, where=where or None,
                                    include=["documents", "metadatas", "distances"])
        except Exception as exc:
            if "empty" in str(exc).lower() or "no elements" in str(exc).lower():
                return []
            raise
        return [ChunkRow(cid, doc or "", meta or {}, 1.0 - float(d)) for cid, doc, meta, d in
                zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0], strict=False)]

    @_gated
    def get_chunks(self, ids: Sequence[str]) -> dict[str, ChunkRow]:
        out: dict[str, ChunkRow] = {}
        ids = list(dict.fromkeys(ids))
        for i in range(0, len(ids), PAGE):
            res = self.chunks.get(ids=ids[i:i + PAGE], include=["documents", "metadatas"])
            for cid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"], strict=False):
                out[cid] = ChunkRow(cid, doc or "", meta or {})
        return out

    def chunks_of(self, versions: Sequence[str]) -> Iterator[ChunkRow]:
        """Every chunk of the given article versions (for the keyword index), a page at a time."""
        versions = list(versions)
        for i in range(0, len(versions), 200):
            batch = versions[i:i + 200]
            offset = 0
            while True:
                with _GATE.shared():
                    res = self.chunks.get(where={"version": {"$in": batch}}, include=["documents", "metadatas"],
                                          limit=PAGE, offset=offset)
                for cid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"], strict=False):
                    yield ChunkRow(cid, doc or "", meta or {})
                if len(res["ids"]) < PAGE:
                    break
                offset += PAGE

    @_gated
    def delete_versions(self, versions: Sequence[str]) -> None:
        versions = list(versions)
        for i in range(0, len(versions), 200):
            self.chunks.delete(where={"version": {"$in": versions[i:i + 200]}})

    @_gated
    def chunk_count(self) -> int:
        return self.chunks.count()

    @_gated
    def article_count(self) -> int:
        return self.articles.count()

    # ------------------------------------------------------------------ articles
    @_gated
    def get_articles(self, ids: Sequence[str] | None = None, where: dict | None = None) -> dict[str, DocEntry]:
        """Article records (metadata only): the given ids, those matching ``where``, or all."""
        out: dict[str, DocEntry] = {}
        if ids is not None:
            ids = list(dict.fromkeys(ids))
            for i in range(0, len(ids), PAGE):
                res = self.articles.get(ids=ids[i:i + PAGE], include=["metadatas"])
                out.update((d, DocEntry.from_meta(m or {})) for d, m in zip(res["ids"], res["metadatas"], strict=False))
            return out
        offset = 0
        while True:
            res = self.articles.get(where=where or None, include=["metadatas"], limit=PAGE * 5, offset=offset)
            out.update((d, DocEntry.from_meta(m or {})) for d, m in zip(res["ids"], res["metadatas"], strict=False))
            if len(res["ids"]) < PAGE * 5:
                return out
            offset += PAGE * 5

    @_gated
    def article_text(self, doc_id: str) -> str | None:
        res = self.articles.get(ids=[doc_id], include=["documents"])
        return res["documents"][0] if res["ids"] else None

    @_gated
    def article_texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        out = {}
        doc_ids = list(doc_ids)
        for i in range(0, len(doc_ids), PAGE):
            res = self.articles.get(ids=doc_ids[i:i + PAGE], include=["documents"])
            out.update(zip(res["ids"], res["documents"], strict=False))
        return out

    @_gated
    def put_articles(self, entries: Sequence[DocEntry], texts: Sequence[str]) -> None:
        """Write article records; each one, once written, makes its chunks part of the corpus."""
        for i in range(0, len(entries), PAGE):
            batch = entries[i:i + PAGE]
            self.articles.upsert(ids=[e.doc_id for e in batch], documents=list(texts[i:i + PAGE]),
                                 metadatas=[e.to_meta() for e in batch], embeddings=[[1.0]] * len(batch))

    @_gated
    def delete_articles(self, doc_ids: Sequence[str]) -> None:
        doc_ids = list(doc_ids)
        for i in range(0, len(doc_ids), PAGE):
            self.articles.delete(ids=doc_ids[i:i + PAGE])

    # ------------------------------------------------------------------ catalog records
    @_gated
    def get_record(self, key: str) -> dict | None:
        res = self.catalog.get(ids=[key], include=["documents"])
        if not res["ids"]:
            return None
        try:
            return json.loads(res["documents"][0])
        except (TypeError, json.JSONDecodeError):
            return None

    @_gated
    def put_record(self, key: str, value: dict) -> None:
        self.catalog.upsert(ids=[key], documents=[json.dumps(value, sort_keys=True)], embeddings=[[1.0]])

    @_gated
    def delete_record(self, key: str) -> None:
        self.catalog.delete(ids=[key])


_STORES: dict[tuple, ChromaStore] = {}


def open_store(settings, embedder) -> ChromaStore:
    """This process's store for the settings' corpus (one per index folder or server, and embedder)."""
    key = (str(Path(settings.index_dir).resolve()), settings.chroma_url, settings.corpus,
           getattr(embedder, "name", type(embedder).__name__))
    store = _STORES.get(key)
    if store is None or store.embedder is not embedder:
        store = _STORES[key] = ChromaStore(settings.index_dir, embedder, settings.chroma_url, settings.corpus)
    return store
