"""The int8 ONNX embedder (``minilm-int8``) against the fp32 one (``minilm``), side by side in one run.

    python bench/int8_embedder.py [--rounds 7] [DIR ...]   (default: bench/corpora/au-news-50 and seeds/)

Both embedders are loaded once in this process (the int8 graph exported first if the cache has none).
Each round, alternating which goes first: ``embed_documents`` of the corpus's chunk texts (fp32 in
batches of 32; int8 one text a run, a run per core), then ``Indexer.ingest`` of the same folders into a
fresh index (fp32 sentences in batches of 16), for each. Prints chunks/s of each
(medians, the first round dropped as warm-up), the int8 / fp32 ratios, and the cosine similarity of the
int8 vectors to the fp32 ones over the corpus's sentences and chunk texts (median, 5th percentile, min),
and the machine's load average before and after (other work on the cores slows torch's fp32 threads far
more than the int8 batches: read the ratio with the load).
Retrieval quality: ``ASSISTANT_EMBEDDER=minilm-int8 python bench/retrieval_eval.py``.

With ``--processes N``, instead: whole fresh processes, N alternated rounds (medians): ``assistant ingest
DIR ...`` into a fresh index with each embedder (start-up, model load and all), against a fresh Python
process that loads ``SentenceTransformer`` and encodes the same chunk texts (batch_size=32), the raw
encoder as a whole process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPECS = ("minilm", "minilm-int8")


RAW_PROCESS = """
import json, sys
from sentence_transformers import SentenceTransformer
from assistant.models.embedders import packaged_model_path
texts = json.load(open(sys.argv[1]))
SentenceTransformer(str(packaged_model_path()), device="cpu").encode(texts, batch_size=32)
"""


def whole_processes(dirs: list[str], texts: list[str], rounds: int) -> int:
    """Fresh processes, alternated: ``assistant ingest`` with each embedder, and the raw encoder."""
    import json
    import subprocess

    work = Path(tempfile.mkdtemp(prefix="int8-process-"))
    try:
        (work / "texts.json").write_text(json.dumps(texts))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        runs = {"raw": [sys.executable, "-c", RAW_PROCESS, str(work / "texts.json")],
                **{s: [sys.executable, "-m", "assistant.apps.cli", "ingest", *dirs] for s in SPECS}}
        took = {k: [] for k in runs}
        for r in range(rounds):
            for k in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                index = work / f"index-{k}-{r}"
                t0 = time.perf_counter()
                subprocess.run(runs[k], env={**env, "ASSISTANT_EMBEDDER": "minilm" if k == "raw" else k,
                                             "ASSISTANT_INDEX_DIR": str(index)},
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                took[k].append(time.perf_counter() - t0)
                shutil.rmtree(index, ignore_errors=True)
        med = {k: statistics.median(v) for k, v in took.items()}
        n = len(texts)
        print(f"{n} chunks, whole fresh processes, medians of {rounds} alternated rounds, load average "
              f"{os.getloadavg()[0]:.2f} after:")
        print("| whole process | seconds | chunks/s | vs the raw encoder's process |")
        print("|---|---|---|---|")
        print(f"| python: SentenceTransformer load + encode(chunk texts, batch_size=32) | {med['raw']:.2f} | "
              f"{n / med['raw']:.1f} | 1.00x |")
        for s in SPECS:
            print(f"| `assistant ingest` with ASSISTANT_EMBEDDER={s} | {med[s]:.2f} | {n / med[s]:.1f} | "
                  f"{med['raw'] / med[s]:.2f}x |")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="*", default=[str(ROOT / "bench" / "corpora" / "au-news-50"), str(ROOT / "seeds")])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--processes", type=int, default=0, help="whole fresh processes instead, this many rounds")
    args = ap.parse_args(argv)
    from scale import chunk_texts, warm_ingest_seconds  # bench/ is this script's folder

    if args.processes:
        from assistant.models.embedders import get_embedder

        return whole_processes(args.dirs, chunk_texts(args.dirs, get_embedder("minilm")), args.processes)

    from assistant.ingest.loading import load_paths
    from assistant.models.embedders import get_embedder
    from assistant.text.sentences import split_sentences
    from assistant.text.tokens import count_tiktoken

    embedders = {spec: get_embedder(spec) for spec in SPECS}
    t0 = time.perf_counter()
    for e in embedders.values():
        e.embed_documents(["warm up the model"])
    print(f"both embedders loaded in {time.perf_counter() - t0:.1f} s (an int8 export included if there was none)")
    count_tiktoken("warm")
    texts = chunk_texts(args.dirs, embedders["minilm"])
    sentences = sorted({s for a in load_paths(args.dirs).articles for s in split_sentences(a.text)})
    fp32, int8 = (embedders[s].embed_array(sentences + texts) for s in SPECS)
    cosine = (fp32 * int8).sum(axis=1)

    load_before = os.getloadavg()[0]
    raw = {s: [] for s in SPECS}
    ours = {s: [] for s in SPECS}
    chunks = 0
    for r in range(args.rounds):
        for spec in SPECS if r % 2 == 0 else SPECS[::-1]:
            t0 = time.perf_counter()
            embedders[spec].embed_documents(texts)
            raw[spec].append(time.perf_counter() - t0)
            seconds, chunks = warm_ingest_seconds(embedders[spec], args.dirs)
            ours[spec].append(seconds)
    med = {k: {s: statistics.median(v[s][1:] or v[s]) for s in SPECS} for k, v in (("raw", raw), ("ingest", ours))}
    print(f"{chunks} chunks ({len(texts)} chunk texts), medians of {max(1, args.rounds - 1)} alternated rounds, "
          f"both models loaded, load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after:")
    print("| chunks/s | minilm (fp32, sentence-transformers) | minilm-int8 (onnxruntime) | int8 / fp32 |")
    print("|---|---|---|---|")
    print(f"| embed_documents(chunk texts) | {len(texts) / med['raw']['minilm']:.1f} | "
          f"{len(texts) / med['raw']['minilm-int8']:.1f} | {med['raw']['minilm'] / med['raw']['minilm-int8']:.2f}x |")
    print(f"| Indexer.ingest (load, chunk, embed sentences, write) | {chunks / med['ingest']['minilm']:.1f} | "
          f"{chunks / med['ingest']['minilm-int8']:.1f} | "
          f"{med['ingest']['minilm'] / med['ingest']['minilm-int8']:.2f}x |")
    print(f"cosine int8 vs fp32 over {len(sentences)} sentences and {len(texts)} chunk texts: median "
          f"{np.median(cosine):.4f}, 5th percentile {np.percentile(cosine, 5):.4f}, min {cosine.min():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
