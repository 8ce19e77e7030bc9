"""How the extractive engine's abstention threshold trades answers for abstentions.

    python bench/abstention_sweep.py [--questions FILE ...]

Retrieves once per question (hybrid, k=4), then answers at each threshold and prints accuracy
(answerable questions answered right, with a citation) and abstention accuracy side by side, for
the public set and for bench/paraphrase_questions.jsonl (a second set in other words, not used
for tuning) when present.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.cli import ensure_index  # noqa: E402
from assistant.evaluation import answer_matches, load_questions  # noqa: E402
from assistant.settings import Settings  # noqa: E402

THRESHOLDS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, nargs="*",
                    default=[p for p in (ROOT / "seeds" / "questions.jsonl", ROOT / "bench" / "paraphrase_questions.jsonl")
                             if p.exists()])
    args = ap.parse_args()
    settings = Settings.from_env(llm="extractive")
    ensure_index(settings)
    from assistant.pipeline import Assistant

    assistant = Assistant(settings)
    default = settings.abstain_threshold
    for path in args.questions:
        questions = load_questions(path)
        docs = {q.id: assistant.retrieve(q.question, q.history) for q in questions}
        n_ans = sum(q.answerable for q in questions)
        print(f"\n{path.name}: {len(questions)} questions, {n_ans} answerable, {len(questions) - n_ans} not")
        print("| threshold | accuracy | abstention accuracy | answerable abstained | unanswerable answered |")
        print("|-----------|----------|---------------------|----------------------|-----------------------|")
        for t in THRESHOLDS:
            assistant.engine.threshold = t
            right = abst_ok = lost = invented = 0
            for q in questions:
                a = assistant.engine.answer(q.question, q.history, docs[q.id])
                if q.answerable:
                    right += (not a.abstained and bool(a.citations) and any(answer_matches(a.answer, x) for x in q.answers))
                    lost += a.abstained
                else:
                    invented += not a.abstained
                abst_ok += a.abstained == (not q.answerable)
            mark = " (default)" if abs(t - default) < 1e-9 else ""
            print(f"| {t:<9.2f} | {right / n_ans:.3f}    | {abst_ok / len(questions):.3f}               | "
                  f"{lost:<20} | {invented:<21} |{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
