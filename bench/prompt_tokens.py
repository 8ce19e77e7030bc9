"""How long the LLM engine's prompts are, per question set, for settings side by side; no model runs.

    python bench/prompt_tokens.py --sweep ASSISTANT_CONTEXT_FLOOR=0,0.4,0.5 [--sets seeds,au-news] [--test]

Every question goes through the whole pipeline (retrieval, sentence scoring, compressed sources) with a
recording chat model in place of the LLM, which declines; the table gives, per set and value, the
median and 90th percentile of the user turn's tiktoken tokens (the part llama.cpp reads for every
question; the system section is read once and cached), and how many answerable questions have an
accepted answer in it (what the model could answer from). On these machines the local model reads
about 70 prompt tokens a second, so 14 tokens are about 0.2 s of time to first token. Follow-ups
count too (their prompt lists the earlier questions).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from three_sets import SETS, TEST_SETS, corpus_index  # noqa: E402

from assistant.apps.evaluation import answer_matches, load_questions, percentile  # noqa: E402
from assistant.settings import Settings  # noqa: E402


class RecordingModel:
    """Stands in for the chat model: keeps the last prompt, declines (so nothing is verified)."""

    supports_grammar = False

    def __init__(self):
        self.last = None

    def stream(self, messages, **kwargs):
        from langchain_core.messages import AIMessageChunk

        self.last = messages
        yield AIMessageChunk(content="The articles don't say.")


def user_tokens(settings: Settings, questions) -> tuple[list[int], int, int]:
    """The user turn's tokens per question, and how many answerable questions have an accepted
    answer in it (of how many): what the model could have answered from."""
    from assistant.pipeline import Assistant

    assistant = Assistant(settings.with_overrides(llm="local", quote_fallback=False))
    model = assistant.engine.model = RecordingModel()
    counts, held, answerable = [], 0, 0
    for q in questions:
        model.last = None
        assistant.ask(q.question, history=q.history)
        text = ""  # stays empty when no passage had text and nothing was asked
        if model.last is not None:
            text = model.last[-1].text
            counts.append(assistant.engine.count(text))
        if q.answerable:
            answerable += 1
            held += any(answer_matches(text, x) for x in q.answers)
    return counts, held, answerable


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", required=True, help="ASSISTANT_X=v1,v2,... (the first value is the baseline)")
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated set names")
    ap.add_argument("--test", action="store_true", help="also the held-out split (au-news-test)")
    args = ap.parse_args(argv)
    key, sep, values = args.sweep.partition("=")
    if not sep or not key.startswith("ASSISTANT_") or not values:
        raise SystemExit(f"--sweep: expected ASSISTANT_NAME=v1,v2,..., got {args.sweep!r}")
    sets = {n: (SETS | TEST_SETS)[n] for n in args.sets.split(",") if n}
    if args.test:
        sets.update(TEST_SETS)
    base = Settings.from_env()
    rows = []
    for name, (corpus, qfile) in sets.items():
        questions = load_questions(qfile)
        indexed = corpus_index(base, corpus)
        cells, first = [], None
        for value in values.split(","):
            os.environ[key] = value
            s = Settings.from_env().with_overrides(index_dir=indexed.index_dir, seeds_dir=corpus)
            counts, held, answerable = user_tokens(s, questions)
            median = statistics.median(counts)
            first = first if first is not None else median
            cells.append(f"{median:.0f} / {percentile(counts, 90):.0f} ({median / first:.2f}x); "
                         f"answer in prompt {held}/{answerable}")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    print(f"user-turn tokens, median / p90 (ratio of medians to {key}={values.split(',')[0]}); answerable "
          "questions with an accepted answer in the prompt\n")
    print("| set | " + " | ".join(f"{key}={v}" for v in values.split(",")) + " |")
    print("|---|" + "---|" * len(values.split(",")))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
