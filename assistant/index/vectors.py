"""Chroma, and only here: the store of everything the index holds, embedded (``index/chroma``) or a
server (``ASSISTANT_CHROMA_URL``), in three collections named after the corpus (``ASSISTANT_CORPUS``):

    <corpus>_chunks    one record per chunk: its vector (the mean of its sentences' vectors) and its
                       metadata: ``row``, one JSON string with text, article fields, offsets and its
                       sentence vectors (``sentences``: spans in the chunk; ``sentence_vectors``:
                       float16, base64, or "=" when the one sentence's vector is the chunk's own),
                       beside it the keys Chroma filters on: ``version``, and
                       ``date_int`` and ``source_cf`` when the article has a date or an outlet
    <corpus>_articles  one record per indexed article: its ``DocEntry`` as one JSON string ``entry``
                       (empty fields left out), beside it ``origin_file`` and, for an article that
                       came through a folder, ``root`` (filtered on)
    <corpus>_texts     one record per indexed article: its cleaned text (citations quote it by offsets)
    <corpus>_catalog   small records: the catalog's version and settings, the writer's lease, the
                       versions an unfinished writer added

Texts are metadata, not Chroma documents, and only the keys we filter on are indexed (a collection
``Schema``): Chroma's full-text index of documents and per-key string indexes more than double the
cost of a write, and nothing here searches them. Every metadata key is a row of Chroma's own tables,
so whatever is never filtered on travels packed in one JSON string: a chunk written with its fields
as keys cost about 1.8 times one written packed, an article record twice (``bench/chroma_writes.py``).
Indexes written before the packing (fields as keys) are read as they are.

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


class ChunkRow:
    """A stored chunk: its id, its metadata (``text`` included; read from JSON only when first asked
    for, so a candidate that is only counted costs no parsing) and, for query results, its score."""

    __slots__ = ("id", "_meta", "_raw", "_vectors", "score", "_sentences")

    def __init__(self, id: str, meta: dict | None = None, score: float | None = None, *,  # noqa: A002
                 raw: bytes | str | None = None, vectors: bytes | None = None):
        self.id = id
        self._meta = meta
        self._raw = raw  # the metadata as JSON, parsed on first use
        self._vectors = vectors  # the sentence vectors as float16 bytes, when kept apart from the metadata
        self.score = score  # cosine similarity, for query results
        self._sentences: tuple | None = None

    @property
    def meta(self) -> dict:
        if self._meta is None:
            self._meta = json.loads(self._raw) if self._raw else {}
            self._raw = None
        return self._meta

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChunkRow) and (self.id, self.meta, self.score) == (other.id, other.meta, other.score)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ChunkRow(id={self.id!r}, meta={self.meta!r}, score={self.score!r})"

    @property
    def text(self) -> str:
        return self.meta.get("text", "")

    @property
    def version(self) -> str:
        return self.meta.get("version", "")

    def sentence_vectors(self) -> list[tuple[int, int, np.ndarray]]:
        """(start, end, vector) of each sentence of the chunk, as stored at ingest; [] when none."""
        spans, matrix = self.sentence_matrix()
        return [(s, e, v) for (s, e), v in zip(spans, matrix, strict=True)]

    def sentence_matrix(self) -> tuple[list[tuple[int, int]], np.ndarray]:
        """The sentences' spans and their vectors as one float32 matrix (a row each), decoded once."""
        if self._sentences is None:
            self._sentences = _decode_sentences(self.meta, self._vectors)
        return self._sentences


# ---------------------------------------------------------------------------- sentence vectors in metadata
def pack_sentences(spans: Sequence[tuple[int, int]], vectors: np.ndarray) -> dict:
    """Chunk metadata holding its sentences' spans and vectors (float16, base64: Chroma metadata
    values are scalars)."""
    return {"sentences": ",".join(f"{s}:{e}" for s, e in spans), "sentence_vectors": _float16_b64(vectors)}


def _float16_b64(vectors) -> str:
    """Vectors as stored in metadata: float16, base64."""
    return base64.b64encode(np.asarray(vectors, dtype=np.float16).tobytes()).decode("ascii")


def _decode_sentences(meta: dict, vectors: bytes | None = None) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Spans and vectors from the metadata (``sentence_vectors``: float16, base64), or from ``vectors``
    (the same float16 bytes, as the keyword index keeps them apart from the JSON)."""
    spans = meta.get("sentences")
    data = vectors if vectors is not None else _stored_bytes(meta.get("sentence_vectors"))
    if not data or not spans:
        return [], np.zeros((0, 0), dtype=np.float32)
    pairs = [(int(s), int(e)) for s, _, e in (item.partition(":") for item in spans.split(","))]
    return pairs, np.frombuffer(data, dtype=np.float16).astype(np.float32).reshape(len(pairs), -1)


def split_sentence_vectors(meta: dict) -> tuple[dict, bytes]:
    """The metadata without its sentence vectors, and those as float16 bytes (how the keyword index
    stores a row: the vectors need no JSON nor base64 decoding when a question reads them)."""
    rest = dict(meta)
    return rest, _stored_bytes(rest.pop("sentence_vectors", None))


def _stored_bytes(raw: str | None) -> bytes:
    """The float16 bytes of stored ``sentence_vectors`` (none when empty, or ``OWN_VECTOR`` not filled in)."""
    return base64.b64decode(raw) if raw and raw != OWN_VECTOR else b""


def text_from_chunks(spans: Sequence[tuple[int, int, str]]) -> str | None:
    """An article's text from its chunks ``(start, end, text)`` when they cover it from offset 0 without
    a gap; else None."""
    out, pos = [], 0
    for start, end, text in sorted(spans):
        if start > pos or end - start != len(text):
            return None
        out.append(text[pos - start:])
        pos = max(pos, end)
    return "".join(out) if out else None


CHUNK_FILTER_KEYS = ("version", "date_int", "source_cf")


OWN_VECTOR = "="  # ``sentence_vectors`` of a one-sentence chunk whose vector is its sentence's


def pack_chunk_meta(meta: dict, vector=None) -> dict:
    """A chunk's metadata as stored in Chroma: everything in one JSON string ``row``, and the keys
    Chroma filters on beside it (the date and outlet only when there is one: a filter on them
    excludes a chunk without the key, as it should). A one-sentence chunk whose ``vector`` is its
    sentence's stores ``OWN_VECTOR`` instead of a copy (long strings are what Chroma's writes
    cost most: a short record's row is a quarter of the size)."""
    row = _chroma_meta(meta)
    if vector is not None and "," not in row.get("sentences", ",") \
            and row.get("sentence_vectors") == _float16_b64(vector):
        row["sentence_vectors"] = OWN_VECTOR
    out = {"row": json.dumps(row, ensure_ascii=False, separators=(",", ":")), "version": meta.get("version", "")}
    if meta.get("date_int"):
        out["date_int"] = int(meta["date_int"])
    if meta.get("source_cf"):
        out["source_cf"] = meta["source_cf"]
    return out


def unpack_chunk_meta(meta: dict | None, vector=None) -> dict:
    """The chunk metadata ``pack_chunk_meta`` stored, its sentence vector from the chunk's ``vector``
    where it was not copied (or, in an older index, the keys as they are)."""
    if not meta:
        return {}
    row = meta.get("row")
    if not isinstance(row, str):
        return meta
    try:
        out = json.loads(row)
    except json.JSONDecodeError:
        return {k: v for k, v in meta.items() if k != "row"}
    if out.get("sentence_vectors") == OWN_VECTOR:
        out["sentence_vectors"] = "" if vector is None else _float16_b64(vector)
    return out


def public_meta(meta: dict) -> dict:
    """Chunk metadata as callers see it: without its text (the Document's content), the packed sentence
    vectors and the folded outlet."""
    return {k: v for k, v in meta.items() if k not in ("text", "sentences", "sentence_vectors", "source_cf")}


# The record collections (one constant one-number vector a record, never searched by vector) keep a
# sparse HNSW graph: at 200,000 records it saves ~17 MB of memory per collection and ~25% of its write
# time against Chroma's default (16 neighbours, ef_construction 100). Existing collections keep theirs.
RECORD_GRAPH = {"max_neighbors": 4, "ef_construction": 16}


def _lean_schema(keys: tuple[str, ...], function, graph: dict | None = None):
    """Vectors by cosine, computed by ``function`` if ever (we always pass them in), in an HNSW graph of
    Chroma's defaults or ``graph``; only ``keys`` among string metadata indexed; no full-text index."""
    from chromadb import K, Schema
    from chromadb.api.types import FtsIndexConfig, HnswIndexConfig, StringInvertedIndexConfig, VectorIndexConfig

    schema = Schema()
    schema.create_index(config=VectorIndexConfig(space="cosine", embedding_function=function,
                                                 hnsw=HnswIndexConfig(**graph) if graph else None))
    schema.delete_index(config=FtsIndexConfig(), key=K.DOCUMENT)
    schema.delete_index(config=StringInvertedIndexConfig())
    for key in keys:
        schema.create_index(config=StringInvertedIndexConfig(), key=key)
    return schema


# ---------------------------------------------------------------------------- embedding functions
@functools.lru_cache(maxsize=1)
def _function_classes():
    """Our two embedding functions, registered with Chroma by name (so a collection's stored
    configuration names a function Chroma knows)."""
    from chromadb.api.types import EmbeddingFunction
    from chromadb.utils.embedding_functions import register_embedding_function

    @register_embedding_function
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

    @register_embedding_function
    class RecordEmbeddingFunction(EmbeddingFunction):
        """For collections of records never searched by vector: a constant one-number vector."""

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

    return AssistantEmbeddingFunction, RecordEmbeddingFunction


def _embedding_function(embedder):
    return _function_classes()[0](embedder)


def _record_function():
    return _function_classes()[1]()


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
        stamp = self.index_dir / "catalog.stamp"
        # what the embedded store's last commit was when this client connected (it sees all until then)
        self.connected_at = stamp.read_text(encoding="utf-8").strip() if stamp.exists() else ""
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
            def collection(suffix: str, keys: tuple[str, ...], function, graph: dict | None = None):
                # the embedding function travels in the schema (Chroma refuses it beside one)
                return self.client.get_or_create_collection(name=f"{self.corpus}_{suffix}", embedding_function=None,
                                                            schema=_lean_schema(keys, function, graph))

            self.chunks = collection("chunks", ("version", "doc_id", "source_cf"), _embedding_function(self.embedder))
            self.articles = collection("articles", ("root", "origin_file"), _record_function(), RECORD_GRAPH)
            self.texts = collection("texts", (), _record_function(), RECORD_GRAPH)
            self.catalog = collection("catalog", (), _record_function(), RECORD_GRAPH)
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
    def add_chunks(self, ids: Sequence[str], vectors, metas: Sequence[dict]) -> None:
        """Chunks with their vectors and metadata (``text`` included)."""
        for i in range(0, len(ids), PAGE):
            self.chunks.upsert(ids=list(ids[i:i + PAGE]),
                               metadatas=[pack_chunk_meta(m, v) for m, v in zip(metas[i:i + PAGE], vectors[i:i + PAGE],
                                                                                strict=True)],
                               embeddings=np.asarray(vectors[i:i + PAGE], dtype=np.float32))

    @_gated
    def query_ids(self, vector, n: int, where: dict | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the ``n`` nearest chunks, best first: ids only, the cheapest
        question Chroma answers (the retriever reads rows from the local keyword index)."""
        if n <= 0:
            return []
        try:
            res = self.chunks.query(query_embeddings=[list(map(float, vector))], n_results=n, where=where or None,
                                    include=["distances"])
        except Exception as exc:
            if "empty" in str(exc).lower() or "no elements" in str(exc).lower():
                return []
            raise
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=False)]

    @_gated
    def get_chunks(self, ids: Sequence[str]) -> dict[str, ChunkRow]:
        out: dict[str, ChunkRow] = {}
        ids = list(dict.fromkeys(ids))
        for i in range(0, len(ids), PAGE):
            res = self.chunks.get(ids=ids[i:i + PAGE], include=["metadatas", "embeddings"])
            for cid, meta, vector in zip(res["ids"], res["metadatas"], res["embeddings"], strict=False):
                out[cid] = ChunkRow(cid, unpack_chunk_meta(meta, vector))
        return out

    def chunks_of(self, versions: Sequence[str]) -> Iterator[ChunkRow]:
        """Every chunk of the given article versions (for the keyword index), a page at a time."""
        versions = list(versions)
        for i in range(0, len(versions), 200):
            batch = versions[i:i + 200]
            offset = 0
            while True:
                with _GATE.shared():
                    res = self.chunks.get(where={"version": {"$in": batch}}, include=["metadatas", "embeddings"],
                                          limit=PAGE, offset=offset)
                for cid, meta, vector in zip(res["ids"], res["metadatas"], res["embeddings"], strict=False):
                    yield ChunkRow(cid, unpack_chunk_meta(meta, vector))
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
    def get_articles(self, ids: Sequence[str] | None = None, where: dict | None = None) -> dict[str, DocEntry]:
        """Article records (metadata only): the given ids, those matching ``where``, or all."""
        if ids is not None:
            return self._articles_by_id(list(dict.fromkeys(ids)))
        return {e.doc_id: e for e in self.iter_articles(where)}

    @_gated
    def _articles_by_id(self, ids: list[str]) -> dict[str, DocEntry]:
        out: dict[str, DocEntry] = {}
        for i in range(0, len(ids), PAGE):
            res = self.articles.get(ids=ids[i:i + PAGE], include=["metadatas"])
            out.update((d, DocEntry.from_meta(m or {})) for d, m in zip(res["ids"], res["metadatas"], strict=False))
        return out

    def article_ids(self, where: dict | None = None) -> list[str]:
        """The ids of the article records matching ``where`` (or all): ids only, an order of magnitude
        cheaper than their metadata."""
        return [d for res in self._article_pages(where, [], PAGE * 5) for d in res["ids"]]

    def iter_articles(self, where: dict | None = None) -> Iterator[DocEntry]:
        """Article records matching ``where`` (or all), a page at a time: memory holds one page."""
        for res in self._article_pages(where, ["metadatas"], PAGE):
            yield from (DocEntry.from_meta(m or {}) for m in res["metadatas"])

    def _article_pages(self, where: dict | None, include: list[str], size: int) -> Iterator[dict]:
        """``articles.get`` results of ``size`` records each, by offset, each read under the gate."""
        offset = 0
        while True:
            res = self._article_page(where, include, size, offset)
            yield res
            if len(res["ids"]) < size:
                return
            offset += size

    @_gated
    def _article_page(self, where: dict | None, include: list[str], size: int, offset: int) -> dict:
        return self.articles.get(where=where or None, include=include, limit=size, offset=offset)

    @_gated
    def article_text(self, doc_id: str) -> str | None:
        """An indexed article's cleaned text: its text record, or its chunks put together."""
        res = self.articles.get(ids=[doc_id], include=["metadatas"])
        if not res["ids"]:
            return None
        entry = DocEntry.from_meta(res["metadatas"][0] or {})
        if entry.text_in_chunks:
            rows = [unpack_chunk_meta(m) for m in
                    self.chunks.get(where={"version": entry.version}, include=["metadatas"])["metadatas"]]
            return text_from_chunks([(int(m["start"]), int(m["end"]), m.get("text", "")) for m in rows if m])
        got = self.texts.get(ids=[doc_id], include=["metadatas"])
        return (got["metadatas"][0] or {}).get("text") if got["ids"] else None

    def article_texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        return {d: t for d in doc_ids if (t := self.article_text(d)) is not None}

    @_gated
    def put_articles(self, entries: Sequence[DocEntry], texts: Sequence[str], stale_texts: Sequence[str] = ()) -> None:
        """Write article records (their text records first, for articles whose chunks do not hold the whole
        text); each record, once written, makes its chunks part of the corpus. ``stale_texts``: text
        records no longer needed."""
        own = [(e, t) for e, t in zip(entries, texts, strict=True) if not e.text_in_chunks]
        for i in range(0, len(own), PAGE):
            batch = own[i:i + PAGE]
            self.texts.upsert(ids=[e.doc_id for e, _ in batch], metadatas=[{"text": t} for _, t in batch],
                              embeddings=[[1.0]] * len(batch))
        for i in range(0, len(stale_texts), PAGE):
            self.texts.delete(ids=list(stale_texts[i:i + PAGE]))
        for i in range(0, len(entries), PAGE):
            batch = entries[i:i + PAGE]
            self.articles.upsert(ids=[e.doc_id for e in batch], metadatas=[e.to_meta() for e in batch],
                                 embeddings=[[1.0]] * len(batch))

    @_gated
    def delete_articles(self, doc_ids: Sequence[str]) -> None:
        doc_ids = list(doc_ids)
        for i in range(0, len(doc_ids), PAGE):
            self.articles.delete(ids=doc_ids[i:i + PAGE])
            self.texts.delete(ids=doc_ids[i:i + PAGE])

    # ------------------------------------------------------------------ catalog records
    @_gated
    def get_record(self, key: str) -> dict | None:
        res = self.catalog.get(ids=[key], include=["metadatas"])
        if not res["ids"]:
            return None
        try:
            return json.loads((res["metadatas"][0] or {}).get("json", ""))
        except (TypeError, json.JSONDecodeError):
            return None

    @_gated
    def put_record(self, key: str, value: dict) -> None:
        self.catalog.upsert(ids=[key], metadatas=[{"json": json.dumps(value, sort_keys=True)}], embeddings=[[1.0]])

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
