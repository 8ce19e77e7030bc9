"""Ingest throughput with the real model loaded (as in a running server) against the raw encoder, in one run.

    python bench/warm_ingest.py [--rounds 7] [DIR ...]   (default: bench/corpora/au-news-50 and seeds/)

Each round, in this one process with the packaged MiniLM loaded once: ``SentenceTransformer.encode`` of
the corpus's chunk texts (batch_size=32, what a plain pipeline would embed), then ``Indexer.ingest`` of
the same folders into a fresh index (load, clean, chunk, embed every sentence once, write Chroma, the
article records and the keyword index). Prints chunks/s of both (medians, the first round dropped as
warm-up) and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", default=[str(ROOT / "bench" / "corpora" / "au-news-50"), str(ROOT / "seeds")])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    from scale import chunk_texts, warm_ingest_seconds  # bench/ is this script's folder

    from assistant.models.embedders import get_embedder
    from assistant.text.tokens import count_tiktoken

    embedder = get_embedder("minilm")
    embedder.embed_documents(["warm up the model"])
    count_tiktoken("warm")
    texts = chunk_texts(args.dirs, embedder)
    raw, ours, chunks = [], [], 0
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        embedder.model.encode(texts, batch_size=32)
        raw.append(time.perf_counter() - t0)
        seconds, chunks = warm_ingest_seconds(embedder, args.dirs)
        ours.append(seconds)
    r, o = statistics.median(raw[1:] or raw), statistics.median(ours[1:] or ours)
    print(f"{chunks} chunks, medians of {max(1, args.rounds - 1)} alternated rounds, the model loaded:")
    print(f"| SentenceTransformer.encode(chunk texts, batch_size=32) | {len(texts) / r:.1f} chunks/s | 1.00x |")
    print(f"| Indexer.ingest (load, chunk, embed sentences, write) | {chunks / o:.1f} chunks/s | {r / o:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
