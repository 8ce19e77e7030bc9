"""Time to first token of the local engine against the LangChain RAG tutorial pipeline, question by
question, interleaved: the ratio the issue's target is about, with the machine's drift cancelled.

    python bench/first_token.py [--sets seeds,paraphrase,au-news] [--set NAME=DIR:FILE ...] [--test] [--out FILE]

bench/three_sets.py times every engine over a whole set, one after the other, so a slower stretch of
the machine during one of them moves the ratio (two such runs gave 0.41-0.51x and 0.49-0.56x). Here
every question is answered by both pipelines back to back, the order alternating (local first on
even questions, the tutorial first on odd ones), each pipeline on its own llama.cpp instance of the
packaged model, so neither evicts the other's cached prompt prefix: each is timed as if it ran alone,
as in the sequential runs. First token counts from the question's arrival (retrieval included) to
the first streamed text; total to the end of the answer (the local engine's judge included).

Per set: both first-token p50s and their ratio, the median of the per-question ratios, how many
questions reach their first token in at most half the tutorial's time, and both total p50s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from llm_vs_tutorial import TutorialPipeline  # noqa: E402
from three_sets import SETS, corpus_index, folders_of, parse_sets  # noqa: E402

from assistant.apps.evaluation import load_questions, percentile  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def own_instance(settings: Settings):
    """The packaged model as the engine gets it, but loaded into a llama.cpp instance of its own."""
    from assistant.models.chat import get_chat_model
    from assistant.models.local import LlamaCppChatModel, load_llama

    class OwnInstanceModel(LlamaCppChatModel):
        def load(self):
            return load_llama(Path(self.model_path), self.n_ctx, self.n_threads, self.n_threads_batch,
                              self.flash_attn, instance="first_token.tutorial")

    base = get_chat_model("local", settings)
    return OwnInstanceModel(**{k: getattr(base, k) for k in (
        "model_path", "model_name", "n_ctx", "n_threads", "n_threads_batch", "flash_attn", "max_tokens",
        "temperature")})


def summarize(rows: list[dict]) -> dict:
    """p50s, their ratio, the per-question ratios' median and how many are at most 0.5."""
    local = [r["local_first_ms"] for r in rows]
    tutorial = [r["tutorial_first_ms"] for r in rows]
    ratios = [r["local_first_ms"] / r["tutorial_first_ms"] for r in rows]
    return {"questions": len(rows), "local_first_p50_ms": percentile(local, 50),
            "tutorial_first_p50_ms": percentile(tutorial, 50),
            "ratio_of_p50": round(percentile(local, 50) / percentile(tutorial, 50), 3),
            "median_ratio": round(statistics.median(ratios), 3), "at_most_half": sum(x <= 0.5 for x in ratios),
            "local_total_p50_ms": percentile([r["local_total_ms"] for r in rows], 50),
            "tutorial_total_p50_ms": percentile([r["tutorial_total_ms"] for r in rows], 50)}


def run_set(settings: Settings, corpus, questions) -> list[dict]:
    from assistant.pipeline import Assistant

    assistant = Assistant(settings.with_overrides(llm="local"))
    assistant.engine.warm()
    assistant.ask("warm-up: how many?")  # the embedder and the model loaded outside the timings
    tutorial = TutorialPipeline(settings, folders_of(corpus), model=own_instance(settings))
    rows = []
    for i, q in enumerate(questions):
        timed: dict[str, float] = {}
        for name in (("local", "tutorial") if i % 2 == 0 else ("tutorial", "local")):
            if name == "local":
                answer = assistant.ask(q.question, q.history)
                timed["local_first_ms"] = answer.timings_ms["first_token"]
                timed["local_total_ms"] = answer.timings_ms["total"]
            else:
                row = tutorial.answer(q)
                timed["tutorial_first_ms"] = row["first_token_ms"]
                timed["tutorial_total_ms"] = row["latency_ms"]
        rows.append({"id": q.id, **{k: round(v, 1) for k, v in timed.items()}})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated set names")
    ap.add_argument("--set", action="append", help="NAME=CORPUS_DIR:QUESTIONS.jsonl, another set (repeatable)")
    ap.add_argument("--test", action="store_true", help="also the held-out split (au-news-test)")
    ap.add_argument("--out", type=Path, help="write the per-question times as JSON")
    args = ap.parse_args(argv)
    sets = parse_sets(args)  # the sets of bench/three_sets.py, named and added the same way
    settings = Settings.from_env()
    results = {}
    for name, (corpus, qfile) in sets.items():
        questions = load_questions(qfile)
        print(f"{name}: {len(questions)} questions, local and tutorial interleaved…", file=sys.stderr, flush=True)
        rows = run_set(corpus_index(settings, corpus), corpus, questions)
        results[name] = {**summarize(rows), "per_question": rows}
        if args.out:
            args.out.write_text(json.dumps(results, indent=2))
    print(f"n_threads={settings.n_threads}/{settings.n_threads_batch}, each pipeline on its own llama.cpp instance\n")
    print("| set | questions | local first token p50 | tutorial first token p50 | ratio of p50s | median "
          "per-question ratio | at most 0.5x | local total p50 | tutorial total p50 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['questions']} | {r['local_first_p50_ms'] / 1000:.2f} s | "
              f"{r['tutorial_first_p50_ms'] / 1000:.2f} s | {r['ratio_of_p50']:.2f}x | {r['median_ratio']:.2f}x | "
              f"{r['at_most_half']} of {r['questions']} | {r['local_total_p50_ms'] / 1000:.2f} s | "
              f"{r['tutorial_total_p50_ms'] / 1000:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
