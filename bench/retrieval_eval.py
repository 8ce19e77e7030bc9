"""Retrieval quality per mode on a labelled question set (default: seeds/questions.jsonl).

    python bench/retrieval_eval.py [--questions FILE] [--index-dir DIR] [--json]

Builds the index from the seeds when it is empty; prints hit@1/@3/@5 and MRR over the
answerable questions for hybrid, dense and bm25 side by side, plus the misses.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.cli import ensure_index  # noqa: E402
from assistant.evaluation import evaluate_retrieval, load_questions  # noqa: E402
from assistant.followup import retrieval_query  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, default=ROOT / "seeds" / "questions.jsonl")
    ap.add_argument("--index-dir", type=Path)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    settings = Settings.from_env(index_dir=args.index_dir)
    ensure_index(settings)
    from assistant.retrieval import NewsRetriever

    questions = load_questions(args.questions)
    report = {}
    for mode in ("hybrid", "dense", "bm25"):
        retriever = NewsRetriever(settings=settings, k=5, mode=mode)
        t0 = time.perf_counter()
        result = evaluate_retrieval(
            questions, lambda q: [d.metadata["doc_id"] for d in retriever.invoke(retrieval_query(q.question, q.history))])
        result["seconds"] = round(time.perf_counter() - t0, 2)
        report[mode] = result
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    n = report["hybrid"]["retrieval"]["n"]
    print(f"{args.questions.name}: {n} answerable questions, top 5 passages\n")
    print(f"| mode   | hit@1 | hit@3 | hit@5 |  MRR  |")
    print(f"|--------|-------|-------|-------|-------|")
    for mode, r in report.items():
        m = r["retrieval"]
        print(f"| {mode:<6} | {m['hit_at_1']:.3f} | {m['hit_at_3']:.3f} | {m['hit_at_5']:.3f} | {m['mrr']:.3f} |")
    for mode, r in report.items():
        misses = [row for row in r["per_question"] if row["rank"] != 1]
        if misses:
            print(f"\n{mode}: not at rank 1:")
            for row in misses:
                print(f"  {row['id']} rank={row['rank']} {row['question'][:80]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
