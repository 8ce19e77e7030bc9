"""Scale: what ingest, retrieval and a cold `assistant search` cost at 1k, 10k and 100k chunks, side by
side with the raw parts on the same data, in one run.

    python bench/scale.py [--sizes 1000,10000,100000] [--queries 200] [--server] [--real [--real-corpus DIR]]
                          [--out FILE]

Synthetic part (the model-free ``hash`` embedder, so the structure is measured, not the model): a
generator of our own writes short one-chunk articles (a JSONL file of N records: pseudo-words with a
Zipf distribution, figures, names, 30 outlets, dates over two years). For each size, in fresh
processes: the whole ingest (seconds, chunks/s, peak RSS), one new article into the full index,
retrieval p50/p95 of ``NewsRetriever.invoke`` against the raw parts on the same data (the query
embedding + ``collection.query(query_embeddings=[v], n_results=20)`` on the same Chroma collection +
bm25s ``get_scores`` over the same chunk tokens), alternated query by query, a fresh
``assistant search`` (wall time, peak RSS) and the index's size on disk per chunk. ``--server`` runs
the same against a ``chroma run`` server started on loopback (the keyword index stays local).

Real part (``--real``, the packaged MiniLM): on a real corpus (default: bench/corpora/au-news-50 and
seeds/), the whole ``assistant ingest`` process against ``SentenceTransformer.encode(texts,
batch_size=32)`` of the same chunk texts, alternated three times (medians); and the answer stage
(total minus retrieval) p50 of the extractive and local engines on the corpus's questions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
ASSISTANT = str(Path(sys.executable).parent / "assistant")

SYLLABLES = ["ka", "lo", "mi", "ren", "tas", "vo", "pel", "dor", "shi", "nu", "ga", "bel", "tor", "mun", "zi",
             "fa", "quo", "rim", "sal", "ve", "dan", "kor", "lis", "mab", "ne", "ost", "pra", "sun", "tul", "wex"]


def vocabulary(n: int, rng: random.Random) -> list[str]:
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def synth_corpus(n: int, path: Path, seed: int = 7, per_file: int = 10_000) -> Path:
    """``n`` short articles (one chunk each), one JSONL record a line, in files of ``per_file`` records
    (each under the 10 MiB file limit) in the folder ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    files = [open(path / f"part{i:03d}.jsonl", "w", encoding="utf-8") for i in range(0, max(1, -(-n // per_file)))]
    rng = random.Random(seed)
    vocab = vocabulary(20000, rng)
    weights = [1 / (i + 1) ** 1.07 for i in range(len(vocab))]  # Zipf-like
    names = [w.capitalize() for w in vocab[:600]]
    outlets = [f"{w.capitalize()} News" for w in vocab[600:630]]
    try:
        for i in range(n):
            f = files[i // per_file]
            sentences = []
            for _ in range(rng.randint(2, 4)):
                words = rng.choices(vocab, weights=weights, k=rng.randint(6, 10))
                words.insert(rng.randrange(len(words)), rng.choice(names))
                if rng.random() < 0.5:
                    words.insert(rng.randrange(len(words)), f"{rng.randint(2, 9000):,}")
                sentences.append(" ".join(words).capitalize() + ".")
            day = 20240101 + rng.randint(0, 700)
            date = f"{day // 10000}-{(day // 100) % 100 % 12 + 1:02d}-{day % 100 % 28 + 1:02d}"
            f.write(json.dumps({"id": f"a{i:06d}", "text": " ".join(sentences), "date": date,
                                "source": rng.choice(outlets)}) + "\n")
    finally:
        for f in files:
            f.close()
    return path


def queries(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    vocab = vocabulary(20000, random.Random(7))
    return [" ".join(rng.choices(vocab[:5000], k=rng.randint(3, 7))) + "?" for _ in range(n)]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settings_for(index: Path, server: str = "", embedder: str = "hash"):
    from assistant.settings import Settings

    return Settings.from_env(env={}, index_dir=index, embedder=embedder, chroma_url=server,
                             cache_dir=index.parent / "cache")


# ---------------------------------------------------------------------------- children (fresh processes)
def child_ingest(index: Path, source: Path, server: str) -> dict:
    from assistant.ingest.indexer import Indexer

    t0 = time.perf_counter()
    report = Indexer(settings_for(index, server)).ingest([source])
    if report.errors:
        raise SystemExit(f"ingest failed: {report.errors[0]}")
    return {"seconds": time.perf_counter() - t0, "chunks": report.total_chunks, "peak_rss_mb": peak_mb()}


def child_one(index: Path, source: Path, server: str) -> dict:
    """One new article into the full index: the ingest itself, and the whole call with this process's
    one-time loads (imports, the tokenizers, the Chroma client) that a running server has done already."""
    t0 = time.perf_counter()
    from assistant.ingest.indexer import Indexer
    from assistant.text.tokens import count_tiktoken

    settings = settings_for(index, server)
    indexer = Indexer(settings)
    count_tiktoken("warm")
    indexer.store.query_ids(indexer.embedder.embed_query("warm"), 1)  # the vector index loaded, as in a server
    t1 = time.perf_counter()
    report = indexer.ingest([source])
    end = time.perf_counter()
    return {"seconds": end - t1, "cold_seconds": end - t0, "added": len(report.added)}


def child_query(index: Path, n_queries: int, server: str) -> dict:
    """Our retriever and the raw parts, query by query, alternated."""
    import bm25s
    import numpy as np

    from assistant.index.vectors import unpack_chunk_meta
    from assistant.retrieval.retriever import NewsRetriever
    from assistant.text.words import tokenize

    settings = settings_for(index, server)
    retriever = NewsRetriever(settings=settings, k=4)
    retriever.invoke("warm up the caches")
    store = retriever.store
    collection = store.chunks
    embedder = retriever._get_embedder()
    ids, texts = [], []
    offset = 0
    while True:  # the same chunk texts, for bm25s (not timed)
        got = collection.get(include=["metadatas"], limit=5000, offset=offset)
        ids += got["ids"]
        texts += [unpack_chunk_meta(m)["text"] for m in got["metadatas"]]
        if len(got["ids"]) < 5000:
            break
        offset += 5000
    bm25 = bm25s.BM25()
    bm25.index([tokenize(t) or ["\u2205"] for t in texts], show_progress=False)
    ours, raw = [], []
    for q in queries(n_queries):
        t0 = time.perf_counter()
        retriever.invoke(q)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        v = embedder.embed_query(q)
        collection.query(query_embeddings=[v], n_results=20)
        toks = [t for t in tokenize(q) if t in bm25.vocab_dict]
        if toks:
            np.asarray(bm25.get_scores(toks))
        raw.append(time.perf_counter() - t0)
    return {"ours_p50_ms": pct(ours, 50) * 1000, "ours_p95_ms": pct(ours, 95) * 1000,
            "raw_p50_ms": pct(raw, 50) * 1000, "raw_p95_ms": pct(raw, 95) * 1000}


def run_child(kind: str, *args: str, env: dict | None = None) -> dict:
    proc = subprocess.run([PY, __file__, "_child", kind, *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=7200)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cold_search(index: Path, server: str) -> dict:
    """A fresh `assistant search` process: wall time and its peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_INDEX_DIR": str(index), "ASSISTANT_EMBEDDER": "hash",
           "ASSISTANT_CHROMA_URL": server, "ASSISTANT_CACHE_DIR": str(index.parent / "cache")}
    t0 = time.perf_counter()
    proc = subprocess.Popen([ASSISTANT, "search", queries(1)[0], "--json"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"assistant search failed: {proc.stderr.read().decode()[-2000:]}")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024}


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


# ---------------------------------------------------------------------------- a Chroma server on loopback
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chroma(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([str(Path(PY).parent / "chroma"), "run", "--path", str(folder), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("chroma run did not start")


# ---------------------------------------------------------------------------- the synthetic table
def synthetic(sizes: list[int], n_queries: int, server: bool) -> list[dict]:
    rows = []
    for size in sizes:
        work = Path(tempfile.mkdtemp(prefix=f"scale-{size}-"))
        chroma = None
        try:
            url = ""
            if server:
                chroma, url = start_chroma(work / "chroma-server")
            corpus = synth_corpus(size, work / "corpus")
            index = work / "index"
            print(f"{size}: ingesting ...", file=sys.stderr, flush=True)
            ingest = run_child("ingest", str(index), str(corpus), url)
            one_file = work / "one.txt"
            one_file.write_text("A brand new article about the harbour strike. Dockers said on Monday that "
                                "4,200 containers are waiting, and talks resume on Friday.")
            one = run_child("one", str(index), str(one_file), url)
            print(f"{size}: querying ...", file=sys.stderr, flush=True)
            query = run_child("query", str(index), str(n_queries), url)
            search = cold_search(index, url)
            size_mb = disk_mb(index) + (disk_mb(work / "chroma-server") if server else 0.0)
            rows.append({"chunks": ingest["chunks"], "ingest_s": ingest["seconds"],
                         "ingest_chunks_per_s": ingest["chunks"] / ingest["seconds"],
                         "ingest_peak_rss_mb": ingest["peak_rss_mb"], "one_article_s": one["seconds"],
                         "one_article_cold_s": one["cold_seconds"], **query,
                         "search_cold_s": search["seconds"], "search_peak_rss_mb": search["peak_rss_mb"],
                         "disk_kb_per_chunk": size_mb * 1024 / max(1, ingest["chunks"])})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        finally:
            if chroma:
                chroma.terminate()
                chroma.wait()
            shutil.rmtree(work, ignore_errors=True)
    return rows


def print_synthetic(rows: list[dict], label: str) -> None:
    print(f"\n{label}: hash embedder, k=4 (ours: NewsRetriever.invoke; raw: query embedding + Chroma "
          "query n_results=20 + bm25s get_scores)")
    print("| chunks | ingest | chunks/s | ingest peak RSS | one article in (fresh process) | retrieval p50 ours / raw "
          "(ratio) | p95 ours / raw | cold search | search peak RSS | disk per chunk |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['chunks']:,} | {r['ingest_s']:.1f} s | {r['ingest_chunks_per_s']:.0f} | "
              f"{r['ingest_peak_rss_mb']:.0f} MB | {r['one_article_s']:.2f} s ({r['one_article_cold_s']:.2f} s) | "
              f"{r['ours_p50_ms']:.2f} / {r['raw_p50_ms']:.2f} ms ({r['ours_p50_ms'] / r['raw_p50_ms']:.2f}x) | "
              f"{r['ours_p95_ms']:.2f} / {r['raw_p95_ms']:.2f} ms | {r['search_cold_s']:.2f} s | "
              f"{r['search_peak_rss_mb']:.0f} MB | {r['disk_kb_per_chunk']:.1f} KB |")
    by = {r["chunks"] // 1000 * 1000: r for r in rows}
    big = [r for r in rows if r["chunks"] >= 90_000]
    mid = [r for r in rows if 9_000 <= r["chunks"] < 90_000]
    if big and mid:
        print(f"retrieval p50 at {big[0]['chunks']:,} / at {mid[0]['chunks']:,}: "
              f"{big[0]['ours_p50_ms'] / mid[0]['ours_p50_ms']:.2f}x (raw parts: "
              f"{big[0]['raw_p50_ms'] / mid[0]['raw_p50_ms']:.2f}x)")
    del by


# ---------------------------------------------------------------------------- the real model
def chunk_texts(corpus_dirs: list[str], embedder) -> list[str]:
    """The texts a plain pipeline would embed: the corpus's chunks as ``assistant ingest`` cuts them, each
    with its headline prefix."""
    from assistant.ingest.chunking import chunker_for, embedding_prefix
    from assistant.ingest.loading import load_paths
    from assistant.settings import Settings

    chunker = chunker_for(Settings.from_env(env={}), embedder)
    return [embedding_prefix(a.title) + c.text for a in load_paths(corpus_dirs).articles
            for c in chunker.split(a.text, a.title)]


def child_encode(corpus_dirs: list[str]) -> dict:
    """The raw encoder on the same chunk texts ``assistant ingest`` embeds (chunked the same way)."""
    from sentence_transformers import SentenceTransformer

    from assistant.models.embedders import get_embedder, packaged_model_path

    texts = chunk_texts(corpus_dirs, get_embedder("minilm"))
    model = SentenceTransformer(str(packaged_model_path()), device="cpu")
    model.encode(texts[:8], batch_size=32)
    t0 = time.perf_counter()
    model.encode(texts, batch_size=32)
    return {"seconds": time.perf_counter() - t0, "chunks": len(texts)}


def warm_ingest_seconds(embedder, corpus_dirs: list[str]) -> tuple[float, int]:
    """``Indexer.ingest`` of the corpus into a fresh index with ``embedder`` already loaded (as a running
    server's is): seconds of the ingest alone, and the chunks it wrote."""
    from assistant.ingest.indexer import Indexer
    from assistant.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="scale-warm-"))
    try:
        indexer = Indexer(Settings.from_env(env={}, index_dir=work / "index", embedder=embedder.spec),
                          embedder=embedder)
        indexer.store.article_count()  # the store opened, as a running server's is
        t0 = time.perf_counter()
        chunks = indexer.ingest(corpus_dirs).total_chunks
        return time.perf_counter() - t0, chunks
    finally:
        shutil.rmtree(work, ignore_errors=True)


def child_warm_ingest(corpus_dirs: list[str]) -> dict:
    """``Indexer.ingest`` of the corpus in a process whose model is loaded already (as a running server's
    is): the ingest's own throughput, load, chunk, embed the sentences, write."""
    from assistant.models.embedders import get_embedder
    from assistant.settings import Settings
    from assistant.text.tokens import count_tiktoken

    embedder = get_embedder(Settings.from_env(env={}).embedder)
    embedder.embed_documents(["warm up the model"])
    count_tiktoken("warm")
    seconds, chunks = warm_ingest_seconds(embedder, corpus_dirs)
    return {"seconds": seconds, "chunks": chunks}


def real(corpus_dirs: list[str], questions: str) -> dict:
    rounds = []
    for i in range(3):
        work = Path(tempfile.mkdtemp(prefix="scale-real-"))
        try:
            env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_INDEX_DIR": str(work / "index")}
            t0 = time.perf_counter()
            proc = subprocess.run([ASSISTANT, "ingest", *corpus_dirs, "--json"], capture_output=True, text=True,
                                  env=env, timeout=3600)
            whole = time.perf_counter() - t0
            report = json.loads(proc.stdout)
            encode = run_child("encode", *corpus_dirs)
            warm = run_child("warm_ingest", *corpus_dirs)
            rounds.append({"ingest_process_s": whole, "ingest_stage_s": report["seconds"],
                           "warm_ingest_s": warm["seconds"], "chunks": report["total_chunks"],
                           "encode_s": encode["seconds"], "encode_chunks": encode["chunks"]})
            print(f"real round {i + 1}: {json.dumps(rounds[-1])}", file=sys.stderr, flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    out = {"rounds": rounds, "median": med,
           "process_chunks_per_s": med["chunks"] / med["ingest_process_s"],
           "stage_chunks_per_s": med["chunks"] / med["ingest_stage_s"],
           "warm_chunks_per_s": med["chunks"] / med["warm_ingest_s"],
           "encode_chunks_per_s": med["encode_chunks"] / med["encode_s"]}
    out["answer_stage_p50_ms"] = run_child("answers", questions, *corpus_dirs)
    return out


def child_answers(questions: str, *corpus_dirs: str) -> dict:
    from assistant.apps.evaluation import load_questions
    from assistant.ingest.indexer import Indexer
    from assistant.models.local import is_installed
    from assistant.pipeline import Assistant
    from assistant.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="scale-answers-"))
    try:
        settings = Settings.from_env(env={}, index_dir=work / "index")
        Indexer(settings).ingest(list(corpus_dirs))
        out = {}
        for engine in ["extractive"] + (["local"] if is_installed() else []):
            assistant = Assistant(settings.with_overrides(llm=engine))
            if hasattr(assistant.engine, "warm"):
                assistant.engine.warm()
            assistant.ask("warm up: how many?")
            stages = []
            for q in load_questions(questions):
                a = assistant.ask(q.question, q.history)
                t = a.timings_ms
                stages.append(t["total"] - t.get("retrieve", 0.0) - t.get("condense", 0.0))
            out[engine] = statistics.median(stages)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_real(r: dict, corpus_dirs: list[str]) -> None:
    m = r["median"]
    print(f"\nreal corpus ({', '.join(Path(d).name for d in corpus_dirs)}: {int(m['chunks'])} chunks), MiniLM, "
          "medians of 3 alternated rounds:")
    print("| | chunks/s | vs raw encode |")
    print("|---|---|---|")
    print(f"| `assistant ingest`, whole process (start-up and model load included) | "
          f"{r['process_chunks_per_s']:.1f} | {r['process_chunks_per_s'] / r['encode_chunks_per_s']:.2f}x |")
    print(f"| `assistant ingest`, its ingest stage (the model loaded on first use inside it) | "
          f"{r['stage_chunks_per_s']:.1f} | {r['stage_chunks_per_s'] / r['encode_chunks_per_s']:.2f}x |")
    print(f"| `Indexer.ingest` with the model loaded (as in a running server) | {r['warm_chunks_per_s']:.1f} | "
          f"{r['warm_chunks_per_s'] / r['encode_chunks_per_s']:.2f}x |")
    print(f"| SentenceTransformer.encode(chunk texts, batch_size=32) | {r['encode_chunks_per_s']:.1f} | 1.00x |")
    print("answer stage p50 (total minus retrieval): "
          + ", ".join(f"{k} {v:.0f} ms" for k, v in r["answer_stage_p50_ms"].items()))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        kind, args = argv[1], argv[2:]
        fn = {"ingest": lambda: child_ingest(Path(args[0]), Path(args[1]), args[2] if len(args) > 2 else ""),
              "one": lambda: child_one(Path(args[0]), Path(args[1]), args[2] if len(args) > 2 else ""),
              "query": lambda: child_query(Path(args[0]), int(args[1]), args[2] if len(args) > 2 else ""),
              "encode": lambda: child_encode(args),
              "answers": lambda: child_answers(args[0], *args[1:]),
              "warm_ingest": lambda: child_warm_ingest(args)}[kind]
        print(json.dumps(fn()))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--server", action="store_true", help="also against a `chroma run` server")
    ap.add_argument("--real", action="store_true", help="also the real-model part")
    ap.add_argument("--real-corpus", action="append",
                    help="a folder of real articles (repeatable; default: bench/corpora/au-news-50 and seeds/)")
    ap.add_argument("--real-questions", default=str(ROOT / "bench" / "au_news_questions.jsonl"))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    sizes = [int(n) for n in args.sizes.split(",") if n]
    results: dict = {}
    if sizes:
        results["embedded"] = synthetic(sizes, args.queries, server=False)
        print_synthetic(results["embedded"], "embedded Chroma")
        if args.server:
            results["server"] = synthetic(sizes, args.queries, server=True)
            print_synthetic(results["server"], "Chroma server (chroma run on loopback)")
    if args.real:
        dirs = args.real_corpus or [str(ROOT / "bench" / "corpora" / "au-news-50"), str(ROOT / "seeds")]
        results["real"] = real(dirs, args.real_questions)
        print_real(results["real"], dirs)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
