"""Follow-ups without a wait: the local model's time to first text for each follow-up question against
the same question asked standalone (the model's own rewrite of it, made outside the timing), paired,
in one run (the model loaded and warmed first).

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
        for q in (q for q in load_questions(qfile) if q.history):
            rewrite = assistant.engine.condense(q.question, q.history)  # the same question, standalone
            # each timed question starts from the fixed system prefix alone in llama.cpp's cache, so neither
            # reuses the other's sources
            assistant.engine.warm()
            f = assistant.ask(q.question, q.history).timings_ms["first_token"] / 1000
            assistant.engine.warm()
            a = assistant.ask(rewrite).timings_ms["first_token"] / 1000
            follow.append(f)
            alone.append(a)
            print(f"{name} {q.id}: follow-up {f:.2f} s, standalone ({rewrite!r}) {a:.2f} s", file=sys.stderr)
    f, a = statistics.median(follow), statistics.median(alone)
    ratios = [x / y for x, y in zip(follow, alone, strict=True)]
    print(f"first text p50: follow-ups {f:.2f} s, the same questions standalone {a:.2f} s ({len(follow)} pairs): "
          f"{f / a:.2f}x; median of the paired ratios {statistics.median(ratios):.2f}x"
          f"{' (condensing)' if args.condense else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
