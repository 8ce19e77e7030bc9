"""One big JSONL file of short records through `assistant ingest`, against the raw parts, in one run.

    python bench/big_file.py [--records 200000] [--embedder hash] [--kill-at 0.5]

Writes one JSONL file of ``--records`` short records (an id and a short sentence; about 9 MB for
200,000; the file limit is raised to 64 MiB for it), then, each in a fresh process:

* ``assistant ingest FILE`` (stderr not a terminal): wall time, peak RSS, the progress lines it printed;
* the raw parts on the same records: the embedder on every text (batches of 512) and
  ``collection.add(ids, embeddings)`` into a fresh embedded Chroma collection, nothing else;
* with ``--kill-at F``: a second ingest into a fresh index killed (SIGKILL) once a share F of the records
  is committed, then the re-run: what the kill lost, and how long the re-run took.

Targets (issue 14): 200,000 records with the hash embedder in under 6 minutes, peak RSS under 800 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


def write_records(path: Path, n: int, seed: int = 5) -> Path:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            text = " ".join(rng.choices(WORDS, k=rng.randint(2, 4))).capitalize() + f" {rng.randint(1, 9999)}."
            f.write(json.dumps({"id": f"r{i}", "text": text}, separators=(",", ":")) + "\n")
    return path


def run_ingest(file: Path, index: Path, embedder: str, kill_at_docs: int = 0) -> dict:
    """`assistant ingest FILE` in a fresh process (its own peak RSS: run each in a fresh parent)."""
    code = ("import resource, subprocess, sys, json, time\n"
            "t0 = time.perf_counter()\n"
            "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
            "print(json.dumps({'rc': p.returncode, 'seconds': time.perf_counter() - t0, 'stderr': p.stderr,\n"
            "  'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_INDEX_DIR": str(index), "ASSISTANT_EMBEDDER": embedder,
           "ASSISTANT_MAX_UPLOAD_MB": "64"}
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "assistant.apps.cli", "ingest", str(file)]
    if not kill_at_docs:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)
    # the kill: watch the committed count (the catalog's article records) and SIGKILL the ingest
    proc = subprocess.Popen([sys.executable, "-m", "assistant.apps.cli", "ingest", str(file)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = 0
    for line in proc.stderr:
        m = re.search(r"ingest: ([\d,]+) chunks embedded", line)
        if m:
            seen = int(m.group(1).replace(",", ""))
            if seen >= kill_at_docs:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait()
    return {"killed_after_chunks": seen}


def run_raw(file: Path, embedder: str) -> dict:
    code = f"""
import json, resource, sys, tempfile, time
sys.path.insert(0, {str(ROOT)!r})
import chromadb, numpy as np
from assistant.models.embedders import get_embedder, embed_array
t0 = time.perf_counter()
emb = get_embedder({embedder!r})
client = chromadb.PersistentClient(path=tempfile.mkdtemp(prefix="raw-"))
col = client.create_collection("raw", embedding_function=None, metadata={{"hnsw:space": "cosine"}})
ids, texts = [], []
def flush():
    if ids:
        col.add(ids=list(ids), embeddings=np.asarray(embed_array(emb, texts), dtype=np.float32))
        ids.clear(); texts.clear()
with open({str(file)!r}, encoding="utf-8") as f:
    for line in f:
        r = json.loads(line)
        ids.append(r["id"]); texts.append(r["text"])
        if len(ids) >= 512:
            flush()
flush()
print(json.dumps({{"seconds": time.perf_counter() - t0, "count": col.count(),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--embedder", default="hash")
    ap.add_argument("--kill-at", type=float, default=0.0, help="also kill an ingest at this share and re-run it")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bigfile-"))
    file = write_records(work / "records.jsonl", args.records)
    size_mb = file.stat().st_size / 2**20
    raw = run_raw(file, args.embedder)
    ours = run_ingest(file, work / "index", args.embedder)
    if ours["rc"] != 0:
        raise SystemExit(f"assistant ingest failed: {ours['stderr'][-2000:]}")
    progress = [ln for ln in ours["stderr"].splitlines() if "chunks embedded of" in ln]
    print(f"one JSONL file, {args.records:,} records, {size_mb:.1f} MB, {args.embedder} embedder, fresh processes:")
    print("| | wall time | records/s | peak RSS |")
    print("|---|---|---|---|")
    print(f"| `assistant ingest FILE` | {ours['seconds']:.1f} s | {args.records / ours['seconds']:.0f} | "
          f"{ours['peak_mb']:.0f} MB |")
    print(f"| raw parts (embed + Chroma add, ids and vectors only) | {raw['seconds']:.1f} s | "
          f"{args.records / raw['seconds']:.0f} | {raw['peak_mb']:.0f} MB |")
    print(f"ours / raw: {ours['seconds'] / raw['seconds']:.2f}x the time; target: under 360 s and 800 MB; "
          f"progress lines on stderr: {len(progress)} (last: {progress[-1].strip() if progress else '-'})")
    print("last stderr line:", ours["stderr"].strip().splitlines()[-1] if ours["stderr"].strip() else "-")
    if args.kill_at:
        index2 = work / "index-killed"
        killed = run_ingest(file, index2, args.embedder, kill_at_docs=int(args.records * args.kill_at))
        rerun = run_ingest(file, index2, args.embedder)
        last = rerun["stderr"].strip().splitlines()[-1] if rerun["stderr"].strip() else "-"
        print(f"killed after {killed['killed_after_chunks']:,} chunks embedded; "
              f"the re-run took {rerun['seconds']:.1f} s: {last}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
