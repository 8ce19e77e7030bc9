"""Retrieval quality per mode on every question set, side by side.

    python bench/retrieval_eval.py [--sets seeds,paraphrase,au-news] [--test] [--json]
                                   [--weights 0,0.15,0.3]

Each set's corpus is indexed once (the cache folder of bench/three_sets.py). Prints hit@1, hit@3,
hit@5 and MRR of the top 5 passages over the answerable questions for: hybrid (dense + BM25 fused,
then the fused candidates re-scored by their best sentence, the default), hybrid without the
re-scoring (ASSISTANT_RERANK_DEPTH=0), dense and bm25; then a sweep of the re-scoring's keyword
weight (ASSISTANT_RERANK_KEYWORD_WEIGHT). Follow-ups are searched as `assistant ask` searches them
when no model rewrites them (with their earlier turn prepended); "follow-ups alone" searches them
without it (rule "followup-retrieval" off).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from three_sets import SETS, TEST_SETS, corpus_index  # noqa: E402

from assistant.apps.evaluation import evaluate_retrieval, load_questions  # noqa: E402
from assistant.retrieval.followup import retrieval_query  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def score(settings: Settings, questions, mode: str, turns: int = 1) -> dict:
    from assistant.models.embedders import get_embedder
    from assistant.retrieval.retriever import NewsRetriever

    retriever = NewsRetriever(settings=settings, k=5, mode=mode, embedder=get_embedder(settings.embedder))
    return evaluate_retrieval(questions, lambda q: [d.metadata["doc_id"] for d in
                                                    retriever.invoke(retrieval_query(q.question, q.history, turns))])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--test", action="store_true", help="also the held-out split")
    ap.add_argument("--weights", default="0,0.15,0.3,0.5", help="re-scoring keyword weights to sweep")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sets = {n: (SETS | TEST_SETS)[n] for n in args.sets.split(",")} | (TEST_SETS if args.test else {})
    base = Settings.from_env()
    rows = {"hybrid": {}, "hybrid, no re-scoring": {}, "hybrid, follow-ups alone": {}, "dense": {}, "bm25": {}}
    sweep = {w: {} for w in args.weights.split(",")}
    for name, (corpus, qfile) in sets.items():
        s = corpus_index(base, corpus)
        questions = load_questions(qfile)
        rows["hybrid"][name] = score(s, questions, "hybrid")
        rows["hybrid, no re-scoring"][name] = score(s.with_overrides(rerank_depth=0), questions, "hybrid")
        rows["hybrid, follow-ups alone"][name] = score(s, questions, "hybrid", turns=0)
        rows["dense"][name] = score(s, questions, "dense")
        rows["bm25"][name] = score(s, questions, "bm25")
        for w in sweep:
            sweep[w][name] = score(s.with_overrides(rerank_keyword_weight=float(w)), questions, "hybrid")
    if args.json:
        print(json.dumps({m: {n: r["retrieval"] for n, r in by.items()} for m, by in rows.items()}, indent=2))
        return 0
    print("top 5 passages, answerable questions: hit@1 / hit@3 / hit@5 / MRR\n")
    print("| mode | " + " | ".join(f"{n} ({rows['hybrid'][n]['retrieval']['n']} q)" for n in sets) + " |")
    print("|---|" + "---|" * len(sets))
    for mode, by in rows.items():
        cells = [f"{m['hit_at_1']:.3f} / {m['hit_at_3']:.3f} / {m['hit_at_5']:.3f} / {m['mrr']:.3f}"
                 for m in (r["retrieval"] for r in by.values())]
        print(f"| {mode} | " + " | ".join(cells) + " |")
    print("\nre-scoring keyword weight (hybrid): hit@1 / hit@5 / MRR\n")
    print("| ASSISTANT_RERANK_KEYWORD_WEIGHT | " + " | ".join(sets) + " |")
    print("|---|" + "---|" * len(sets))
    for w, by in sweep.items():
        cells = [f"{m['hit_at_1']:.3f} / {m['hit_at_5']:.3f} / {m['mrr']:.3f}"
                 for m in (r["retrieval"] for r in by.values())]
        print(f"| {w}{' (default)' if float(w) == base.rerank_keyword_weight else ''} | " + " | ".join(cells) + " |")
    for name in sets:
        misses = [row for row in rows["hybrid"][name]["per_question"] if row["rank"] != 1]
        if misses:
            print(f"\n{name}, hybrid: not at rank 1: " + ", ".join(f"{r['id']} ({r['rank']})" for r in misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
