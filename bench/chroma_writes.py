"""What Chroma's writes cost per record on this machine, alone: the floor under `assistant ingest`.

    python bench/chroma_writes.py [--records 10240]

Into fresh embedded collections, in batches of 512 (as ingest writes), prints records/s of ``upsert``:
384-d vectors without metadata; 384-d vectors with a chunk's metadata as ingest stores it (text, doc and
date fields, offsets, one sentence's float16 vector as base64); 1-d vectors with the same metadata (an
article record's shape). An ingest writes one chunk and one article record per short article, so
``1 / (chunk rate) + 1 / (record rate)`` seconds per article is spent in Chroma before any other work.
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time

import numpy as np


def chunk_meta(j: int, vectors: str) -> dict:
    return {"doc_id": f"d{j}", "title": "", "date": "2024-01-01", "date_int": 20240101, "source": "X News",
            "source_cf": "x news", "url": "", "dateline": "", "version": f"v{j}", "chunk_id": f"v{j}:0",
            "chunk_index": 0, "start": 0, "end": 40, "text": "Golf juliet romeo victor quebec 8685.",
            "spans": "[[0,40]]", "vectors": vectors}


def rate(n: int, dim: int, meta) -> float:
    import chromadb

    rng = np.random.default_rng(0)
    client = chromadb.PersistentClient(path=tempfile.mkdtemp(prefix="chroma-writes-"))
    col = client.create_collection("bench", embedding_function=None, metadata={"hnsw:space": "cosine"})
    t0 = time.perf_counter()
    for i in range(0, n, 512):
        ids = [f"id{j}" for j in range(i, min(n, i + 512))]
        col.upsert(ids=ids, embeddings=rng.standard_normal((len(ids), dim)).astype(np.float32),
                   metadatas=[meta(int(x[2:])) for x in ids] if meta else None)
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10_240)
    args = ap.parse_args(argv)
    vectors = base64.b64encode(np.zeros(384, dtype=np.float16).tobytes()).decode()
    bare = rate(args.records, 384, None)
    chunk = rate(args.records, 384, lambda j: chunk_meta(j, vectors))
    record = rate(args.records, 1, lambda j: chunk_meta(j, vectors))
    print(f"Chroma upsert, {args.records:,} records in batches of 512, records/s:")
    print(f"| 384-d, no metadata | {bare:,.0f} |")
    print(f"| 384-d, a chunk's metadata | {chunk:,.0f} |")
    print(f"| 1-d, the same metadata (an article record's shape) | {record:,.0f} |")
    print(f"one chunk + one record per article: {1 / (1 / chunk + 1 / record):,.0f} articles/s at most; "
          f"200,000 articles: {200_000 * (1 / chunk + 1 / record):,.0f} s in Chroma alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
