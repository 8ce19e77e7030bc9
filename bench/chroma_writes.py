"""What Chroma's writes cost per record on this machine, alone: the floor under `assistant ingest`.

    python bench/chroma_writes.py [--records 10240]

Into fresh embedded collections with the index's own schema (only the filtered keys indexed), in
batches of 512 (as ingest writes), prints records/s of ``upsert`` for a short article's two records,
each in two shapes side by side: one metadata key per field (how the index stored them before) and
packed as the index stores them now (``pack_chunk_meta``: one JSON string beside the keys Chroma
filters on, a one-sentence chunk's sentence vector not copied; ``DocEntry.to_meta``). An ingest writes
one chunk and one article record per short article, so ``1 / (chunk rate) + 1 / (record rate)``
seconds per article is spent in Chroma before any other work. Bare 384-d vectors are the baseline.
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.index.layout import DocEntry  # noqa: E402
from assistant.index.vectors import _lean_schema, pack_chunk_meta  # noqa: E402


def chunk_meta(j: int, vector: np.ndarray) -> dict:
    """A short article's one chunk, as the ingest builds it (its one sentence's vector is the chunk's)."""
    return {"doc_id": f"d{j}", "title": "", "date": "2024-01-01", "date_int": 20240101, "source": "X News",
            "source_cf": "x news", "url": "", "dateline": "", "version": f"v{j}", "chunk_id": f"v{j}-0000",
            "chunk_index": 0, "start": 0, "end": 37, "text": "Golf juliet romeo victor quebec 8685.",
            "sentences": "0:37",
            "sentence_vectors": base64.b64encode(vector.astype(np.float16).tobytes()).decode("ascii")}


def entry(j: int) -> DocEntry:
    return DocEntry(doc_id=f"d{j}", date="2024-01-01", source="X News", content_hash="c" * 16,
                    origin_file="/data/records.jsonl", root="/data/records.jsonl", version=f"v{j}", chunks=1,
                    text_in_chunks=True)


def rate(n: int, dim: int, keys: tuple[str, ...], meta) -> float:
    import chromadb

    rng = np.random.default_rng(0)
    client = chromadb.PersistentClient(path=tempfile.mkdtemp(prefix="chroma-writes-"))
    col = client.create_collection("bench", schema=_lean_schema(keys, None))
    spent = 0.0
    for i in range(0, n, 512):
        ids = [f"id{j}" for j in range(i, min(n, i + 512))]
        vectors = rng.standard_normal((len(ids), dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        metas = [meta(i + k, v) for k, v in enumerate(vectors)] if meta else None
        t0 = time.perf_counter()
        col.upsert(ids=ids, embeddings=vectors, metadatas=metas)
        spent += time.perf_counter() - t0
    return n / spent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10_240)
    args = ap.parse_args(argv)
    n, chunk_keys, record_keys = args.records, ("version", "doc_id", "source_cf"), ("root", "origin_file")
    bare = rate(n, 384, chunk_keys, None)
    chunk_fields = rate(n, 384, chunk_keys, lambda j, v: chunk_meta(j, v))
    chunk_packed = rate(n, 384, chunk_keys, lambda j, v: pack_chunk_meta(chunk_meta(j, v), v))
    record_fields = rate(n, 1, record_keys, lambda j, v: {k: x for k, x in entry(j).__dict__.items() if x is not None})
    record_packed = rate(n, 1, record_keys, lambda j, v: entry(j).to_meta())
    print(f"Chroma upsert, {n:,} records in batches of 512, records/s (the index's schema):")
    print("| record | one key per field (before) | packed (now) | now / before |")
    print("|---|---|---|---|")
    print(f"| chunk, 384-d | {chunk_fields:,.0f} | {chunk_packed:,.0f} | {chunk_packed / chunk_fields:.2f}x |")
    print(f"| article record, 1-d | {record_fields:,.0f} | {record_packed:,.0f} "
          f"| {record_packed / record_fields:.2f}x |")
    print(f"| 384-d, no metadata (baseline) | {bare:,.0f} | | |")
    before, now = 1 / chunk_fields + 1 / record_fields, 1 / chunk_packed + 1 / record_packed
    print(f"one chunk + one record per article, 200,000 articles in Chroma alone: before {200_000 * before:,.0f} s, "
          f"now {200_000 * now:,.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
