"""What each hand rule is worth: every rule switched off in turn, every question set at once.

    python bench/ablation.py [--engine extractive|local] [--rules a,b] [--sets ...] [--llm-cache FILE]
                             [--sweep ASSISTANT_X=v1,v2,...] [--out FILE]

For each rule of ``assistant/rules.py`` (or those named), the engine answers every set with the rule
off (ASSISTANT_DISABLED_RULES) and the table shows, per set, the points it earns with the rule on
minus with it off (points: right answers + right abstentions). The verdict is the project's bar: a
rule stays only if it gains at least 2 points summed over the sets and loses more than 1 on none.

``--sweep ASSISTANT_ABSTAIN_THRESHOLD=0,0.1,0.2`` runs a threshold's values instead and prints
accuracy, abstention accuracy and points per set for each value. ``--llm-cache`` (as in
three_sets.py) makes the local model's repeated prompts free, so only prompts a rule changes are
generated again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from three_sets import SETS, corpus_index, install_llm_cache, points, run_engine  # noqa: E402

from assistant.apps.evaluation import load_questions  # noqa: E402
from assistant.rules import RULES  # noqa: E402
from assistant.settings import Settings  # noqa: E402

LLM_ONLY = {"lead-passage", "quote-declined", "withhold-off-kind", "withhold-invented"}
EXTRACTIVE_ONLY: set[str] = set()


def run_all(engine: str, sets: dict, env: dict[str, str]) -> dict:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        settings = Settings.from_env()
        out = {}
        for name, (corpus, qfile) in sets.items():
            out[name] = run_engine(corpus_index(settings, corpus), load_questions(qfile), engine)
        return out
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", default="extractive")
    ap.add_argument("--rules", help="comma-separated rules (default: every rule that applies to the engine)")
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--sweep", help="ASSISTANT_X=v1,v2,... : sweep one setting instead of ablating rules")
    ap.add_argument("--env", action="append", default=[], help="ASSISTANT_X=VALUE for every run")
    ap.add_argument("--llm-cache", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    if args.llm_cache:
        install_llm_cache(args.llm_cache)
    sets = {n: SETS[n] for n in args.sets.split(",")}
    base_env = dict(item.split("=", 1) for item in args.env)
    results = {}
    if args.sweep:
        key, _, values = args.sweep.partition("=")
        for v in values.split(","):
            print(f"{key}={v} …", file=sys.stderr, flush=True)
            results[v] = run_all(args.engine, sets, base_env | {key: v})
        print(f"{args.engine}: sweep of {key} (accuracy / abstention accuracy / points per set)\n")
        print(f"| {key} | " + " | ".join(sets) + " | points in all |")
        print("|---|" + "---|" * (len(sets) + 1))
        for v, by in results.items():
            cells = [f"{r['accuracy']:.3f} / {r['abstention_accuracy']:.3f} / {points(r)}" for r in by.values()]
            print(f"| {v} | " + " | ".join(cells) + f" | {sum(points(r) for r in by.values())} |")
    else:
        skip = EXTRACTIVE_ONLY if args.engine != "extractive" else LLM_ONLY
        rules = args.rules.split(",") if args.rules else [r for r in RULES if r not in skip]
        disabled = base_env.get("ASSISTANT_DISABLED_RULES", "")
        print("baseline …", file=sys.stderr, flush=True)
        results["(all on)"] = base = run_all(args.engine, sets, base_env)
        for rule in rules:
            print(f"without {rule} …", file=sys.stderr, flush=True)
            off = ",".join(x for x in (disabled, rule) if x)
            results[rule] = run_all(args.engine, sets, base_env | {"ASSISTANT_DISABLED_RULES": off})
        print(f"{args.engine}: points with the rule minus without it (points = right answers + right "
              f"abstentions; baseline " + ", ".join(f"{n} {points(r)}/{2 * r['questions']}" for n, r in base.items())
              + ")\n")
        print("| rule | " + " | ".join(sets) + " | sum | verdict |")
        print("|---|" + "---|" * (len(sets) + 2))
        for rule in rules:
            gains = [points(base[n]) - points(results[rule][n]) for n in sets]
            keep = sum(gains) >= 2 and min(gains) >= -1
            print(f"| {rule} | " + " | ".join(f"{g:+d}" for g in gains) + f" | {sum(gains):+d} | "
                  f"{'keep' if keep else 'drop'} |")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
