"""Chroma, and only here: embedded (``index/chroma``) or a server (``ASSISTANT_CHROMA_URL``).

Vectors are computed by our embedder and passed in explicitly; Chroma also gets an
embedding function wrapping the same embedder, because its default one downloads a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assistant.errors import ChromaStoreError

COLLECTION = "news_chunks"


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


class VectorStore:
    def __init__(self, index_dir: Path, embedder, chroma_url: str = "", collection: str = COLLECTION):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False)
        if chroma_url:
            u = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
            try:
                self.client = chromadb.HttpClient(host=u.hostname or "127.0.0.1",
                                                  port=u.port or (443 if u.scheme == "https" else 8000),
                                                  ssl=u.scheme == "https", settings=settings)
                self.client.heartbeat()
            except Exception as exc:  # connection refused, DNS, ...
                raise ChromaStoreError(f"ASSISTANT_CHROMA_URL: cannot reach Chroma at {chroma_url}: {exc}") from None
            # one server may hold several indexes: keep them apart by the index folder's name
            collection = f"{collection}_{Path(index_dir).resolve().name}"
        else:
            self.client = chromadb.PersistentClient(path=str(Path(index_dir) / "chroma"), settings=settings)
        self.embedder = embedder
        self.collection = self.client.get_or_create_collection(
            name=collection, embedding_function=_embedding_function(embedder),
            metadata={"hnsw:space": "cosine"},
        )

    def count(self) -> int:
        return self.collection.count()

    def ids(self) -> set[str]:
        out: set[str] = set()
        offset, page = 0, 5000
        while True:
            got = self.collection.get(include=[], limit=page, offset=offset)["ids"]
            out.update(got)
            if len(got) < page:
                return out
            offset += page

    def add(self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict],
            embeddings: Sequence[Sequence[float]]) -> None:
        batch = 1000
        for i in range(0, len(ids), batch):
            self.collection.upsert(ids=list(ids[i:i + batch]), documents=list(texts[i:i + batch]),
                                   metadatas=[_chroma_meta(m) for m in metadatas[i:i + batch]],
                                   embeddings=[list(e) for e in embeddings[i:i + batch]])

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), 1000):
            self.collection.delete(ids=ids[i:i + 1000])

    def query(self, embedding: Sequence[float], n: int, where: dict | None = None) -> list[tuple[str, float]]:
        """[(chunk id, cosine similarity)], best first."""
        total = self.count()
        if total == 0 or n <= 0:
            return []
        res = self.collection.query(query_embeddings=[list(embedding)], n_results=min(n, total),
                                    where=where or None, include=["distances"])
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=False)]


def _chroma_meta(meta: dict) -> dict:
    """Chroma metadata values must be str/int/float/bool: drop None."""
    return {k: v for k, v in meta.items() if v is not None}
