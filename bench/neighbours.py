"""Answers that stay on topic as the corpus grows: the seed questions answered over the seeds alone and over
the seeds plus six short related articles (bench/corpora/seed-neighbours: other countries, other transfers,
other figures), side by side.

    python bench/neighbours.py [--engine extractive] [--env ASSISTANT_X=VALUE ...] [--show]

Prints, per engine, how many answers are the same text with and without the neighbours, how many open
with the same first sentence, and how many are right in each; ``--show`` lists the questions whose
answer changed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.apps.evaluation import answered_right, first_sentence, load_questions  # noqa: E402

SEEDS = ROOT / "seeds"
NEIGHBOURS = ROOT / "bench" / "corpora" / "seed-neighbours"


def answers(paths: list[Path], engine: str, questions) -> dict:
    from assistant.ingest.indexer import Indexer
    from assistant.pipeline import Assistant
    from assistant.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="neighbours-"))
    try:
        settings = Settings.from_env(index_dir=work / "index", llm=engine)
        report = Indexer(settings).ingest(paths)
        assert report.ok, report.errors
        assistant = Assistant(settings)
        return {q.id: assistant.ask(q.question, q.history) for q in questions}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compare(engine: str, show: bool) -> dict:
    questions = load_questions(SEEDS / "questions.jsonl")
    alone = answers([SEEDS], engine, questions)
    grown = answers([SEEDS, NEIGHBOURS], engine, questions)
    out = {"questions": len(questions), "same_text": 0, "same_first_sentence": 0, "right_alone": 0, "right_grown": 0,
           "changed": []}
    for q in questions:
        a, b = alone[q.id], grown[q.id]
        out["same_text"] += a.answer == b.answer
        out["same_first_sentence"] += first_sentence(a.answer) == first_sentence(b.answer)
        for key, ans in (("right_alone", a), ("right_grown", b)):
            row = {"answerable": q.answerable, "abstained": ans.abstained, "answers": q.answers, "answer": ans.answer,
                   "sources": q.sources, "citations": [c.doc_id for c in ans.citations]}
            out[key] += answered_right(row) if q.answerable else ans.abstained
        if a.answer != b.answer:
            out["changed"].append((q.id, q.question, a.answer, b.answer))
    print(f"{engine}: {out['same_text']}/{len(questions)} answers the same text, {out['same_first_sentence']} the same "
          f"first sentence; right (answer or abstention) {out['right_alone']} alone, {out['right_grown']} with "
          "the six neighbours")
    if show:
        for qid, question, a, b in out["changed"]:
            print(f"  {qid} {question}\n    alone: {a[:160]}\n    grown: {b[:160]}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", default="extractive")
    ap.add_argument("--env", action="append", default=[], help="ASSISTANT_X=VALUE for this run")
    ap.add_argument("--show", action="store_true")
    args = ap.parse_args(argv)
    for item in args.env:
        key, _, value = item.partition("=")
        os.environ[key] = value
    compare(args.engine, args.show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
