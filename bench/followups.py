"""Follow-ups without a wait: the local model's time to first text for follow-up questions against
standalone questions of the same sets, in one run (the model loaded and warmed first).

    python bench/followups.py [--sets seeds,paraphrase,au-news] [--condense]

A follow-up is retrieved with its earlier turn and answered from a prompt that lists the earlier
questions: no generation comes before retrieval. ``--condense`` measures ASSISTANT_CONDENSE=true
instead (a rewrite first, sharing the answer prompt's cached system section).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from three_sets import SETS, corpus_index  # noqa: E402

from assistant.apps.evaluation import load_questions  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--condense", action="store_true")
    args = ap.parse_args(argv)
    from assistant.pipeline import Assistant

    follow, alone = [], []
    for name in args.sets.split(","):
        corpus, qfile = SETS[name]
        settings = corpus_index(Settings.from_env(), corpus).with_overrides(llm="local", condense=args.condense)
        assistant = Assistant(settings)
        assistant.engine.warm()
        assistant.ask("warm-up: how many?")
        questions = load_questions(qfile)
        with_history = [q for q in questions if q.history]
        standalone = [q for q in questions if not q.history][:len(with_history)]
        for q in with_history + standalone:
            t = assistant.ask(q.question, q.history).timings_ms["first_token"] / 1000
            (follow if q.history else alone).append(t)
            print(f"{name} {q.id} {'follow-up' if q.history else 'standalone'} {t:.2f} s", file=sys.stderr)
    f, a = statistics.median(follow), statistics.median(alone)
    print(f"first text p50: follow-ups {f:.2f} s ({len(follow)}), standalone {a:.2f} s ({len(alone)}): "
          f"{f / a:.2f}x{' (condensing)' if args.condense else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
