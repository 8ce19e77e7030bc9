"""Every answer engine on every question set, in one table: the quality claim of record.

    python bench/three_sets.py [--engines extractive,local,tutorial] [--sets seeds,paraphrase,au-news]
                               [--set NAME=CORPUS_DIR:QUESTIONS.jsonl ...] [--test] [--mixed]
                               [--env ASSISTANT_X=VALUE ...] [--llm-cache FILE] [--out FILE] [--json]

Sets (each question set is answered over its own corpus, indexed once into a cache folder):
  seeds        seeds/questions.jsonl over seeds/ (the questions the engines were first built on)
  paraphrase   bench/paraphrase_questions.jsonl over seeds/ (written separately, in other words)
  au-news      bench/au_news_questions.jsonl over bench/corpora/au-news-50/ (50 real articles)
  au-news-test bench/au_news_test.jsonl over the same corpus: the held-out split, never tuned on;
               only with --test
  --set NAME=DIR:FILE adds any other corpus and question set (a larger held-out one, say).
  --mixed answers every set over one index of all their corpora together (the seeds' story beside
  the 50 au-news articles): each question then has another story's articles as distractors.

Engines: ``extractive``, ``local`` (the packaged model with the defaults), any other ASSISTANT_LLM
spec, and ``tutorial`` (the LangChain RAG tutorial pipeline on the same model, from
bench/llm_vs_tutorial.py). ``--env`` sets settings for this run (ablations: bench/ablation.py).
``--llm-cache FILE`` remembers the local model's generations by prompt (greedy decoding makes them
repeatable), so re-running with a post-generation rule switched off costs no generation; its
timings are then meaningless and are printed as such.

Columns: hit@1, hit@5 and MRR of the top 5 passages (answerable questions); accuracy (an accepted
string and a citation of a supporting article); abstention accuracy; citation precision; "direct":
right answers whose first sentence alone holds the answer; "evidence": right answers whose cited
sentences (what opening the citations shows) hold the answer; "short": answers opening with a
sentence of at most 18 words; follow-up accuracy; the failure categories (first that applies:
answered an unanswerable one, wrongly abstained, retrieval miss, wrong answer, no right citation);
first-token and total p50. "points" = right answers + right abstentions: what an ablation counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.apps.evaluation import FAILURE_CATEGORIES, evaluate, load_questions  # noqa: E402
from assistant.settings import Settings  # noqa: E402

SETS = {
    "seeds": (ROOT / "seeds", ROOT / "seeds" / "questions.jsonl"),
    "paraphrase": (ROOT / "seeds", ROOT / "bench" / "paraphrase_questions.jsonl"),
    "au-news": (ROOT / "bench" / "corpora" / "au-news-50", ROOT / "bench" / "au_news_questions.jsonl"),
}
TEST_SETS = {"au-news-test": (ROOT / "bench" / "corpora" / "au-news-50", ROOT / "bench" / "au_news_test.jsonl")}
SHORT = {"answered_unanswerable": "ans.unans", "wrongly_abstained": "wr.abst", "retrieval_miss": "retr.miss",
         "wrong_answer": "wrong", "no_right_citation": "bad cite"}


def folders_of(corpus: Path | Sequence[Path]) -> list[Path]:
    """A set's corpus as a list of folders: one, or several in one index (``--mixed``)."""
    return [corpus] if isinstance(corpus, Path) else list(corpus)


def corpus_index(settings: Settings, corpus: Path | Sequence[Path]) -> Settings:
    """Settings whose index holds ``corpus`` (one folder, or several in one index: ``--mixed``),
    built incrementally in the cache folder."""
    from assistant.apps.cli import ingest_with_progress

    folders = folders_of(corpus)
    where = "+".join(str(f.resolve()) for f in folders)
    key = hashlib.sha1(f"{where}|{settings.embedder}|{settings.chunk_tokens}|{settings.chunk_overlap}"
                       .encode()).hexdigest()[:12]
    index_dir = settings.cache_dir / "bench-index" / f"{'+'.join(f.name for f in folders)}-{key}"
    s = settings.with_overrides(index_dir=index_dir, seeds_dir=folders[0])
    report = ingest_with_progress(s, folders)
    if report.errors:
        raise SystemExit(f"{where}: {report.errors[0]}")
    return s


def install_llm_cache(path: Path) -> None:
    """Remember the local model's generations by their exact input (greedy decoding: repeatable)."""
    from assistant.models import local as local_model

    cache = json.loads(path.read_text()) if path.exists() else {}
    original = local_model.LlamaCppChatModel._stream

    def key_of(messages, *params) -> str:
        return hashlib.sha1(json.dumps([[m.type, m.text] for m in messages] + list(params)).encode()).hexdigest()

    def cached(self, messages, stop=None, run_manager=None, **kwargs):
        from langchain_core.messages import AIMessageChunk
        from langchain_core.outputs import ChatGenerationChunk

        key = key_of(messages, stop, kwargs.get("grammar"), kwargs.get("max_tokens", self.max_tokens))
        if key not in cache:
            cache[key] = [c.message.content for c in original(self, messages, stop, run_manager, **kwargs)]
            path.write_text(json.dumps(cache))
        for delta in cache[key]:
            yield ChatGenerationChunk(message=AIMessageChunk(content=delta))

    judged = local_model.LlamaCppChatModel.yes_no_margin

    def cached_margin(self, messages):
        key = "judge:" + key_of(messages)
        if key not in cache:
            cache[key] = judged(self, messages)
            path.write_text(json.dumps(cache))
        return cache[key]

    local_model.LlamaCppChatModel._stream = cached
    local_model.LlamaCppChatModel.yes_no_margin = cached_margin


def run_engine(settings: Settings, questions, engine: str) -> dict:
    from assistant.pipeline import Assistant

    assistant = Assistant(settings.with_overrides(llm=engine))
    if hasattr(assistant.engine, "warm"):
        assistant.engine.warm()
    assistant.ask("warm-up: how many?")  # loads the embedder (and the model) outside the timings
    report = evaluate(assistant, questions)
    return summarize(report)


def tally(rows: list[dict]) -> dict:
    """Right answers, right abstentions (an answerable question not abstained on counts) and questions."""
    return {"right_answers": sum(1 for x in rows if x["answerable"] and x["correct"]),
            "right_abstentions": sum(1 for x in rows if x["abstained"] == (not x["answerable"])),
            "questions": len(rows)}


def summarize(report: dict) -> dict:
    a, r = report["answers"], report["retrieval"]
    rows = report["per_question"]
    return {"hit_at_1": r["hit_at_1"], "hit_at_5": r["hit_at_5"], "mrr": r["mrr"], "accuracy": a["accuracy"],
            "abstention_accuracy": a["abstention_accuracy"], "citation_precision": a["citation_precision"],
            "direct_first_sentence": a["direct_first_sentence"], "short_first_sentence": a["short_first_sentence"],
            "evidence": a["evidence"], "followup_accuracy": a["followup_accuracy"], "failures": a["failures"],
            "quoted_answers": a["quoted_answers"],
            **tally(rows), "first_token_p50_ms": report["first_token_ms"]["p50"],
            "total_p50_ms": report["latency_ms"]["p50"],
            "per_question": [{k: x.get(k) for k in ("id", "question", "answerable", "answer", "abstained", "correct",
                                                    "failure", "citations", "quotes", "rank", "first_token_ms",
                                                    "latency_ms")}
                             | {"extra": {k: v for k, v in x["extra"].items() if k.endswith("_margin") or k in (
                                 "answered_by", "fallback_reason", "abstain_reason", "withheld_answer",
                                 "standalone_question", "model_answer", "confidence", "raw_answer",
                                 "long_first_sentence")}}
                             for x in rows]}


def run_tutorial(settings: Settings, questions, corpora: Sequence[Path]) -> dict:
    from bench.llm_vs_tutorial import run_tutorial as tutorial

    out = tutorial(settings, questions, corpora=corpora)
    rows = out["per_question"]
    return {"hit_at_1": None, "hit_at_5": None, "mrr": None, "accuracy": out["accuracy"],
            "abstention_accuracy": out["abstention_accuracy"], "citation_precision": None,
            "direct_first_sentence": None, "short_first_sentence": None, "evidence": None, "followup_accuracy": None,
            "failures": None, "quoted_answers": None,
            **tally(rows), "first_token_p50_ms": out["first_token_p50_ms"],
            "total_p50_ms": out["total_p50_ms"], "per_question": rows}


def points(r: dict) -> int:
    """Right answers + right abstentions (of answerable and unanswerable questions alike)."""
    return r["right_answers"] + r["right_abstentions"]


def print_table(results: dict, cached: bool) -> None:
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    print("| engine | set | hit@1 | hit@5 | MRR | accuracy | abstention | citation prec. | direct | evidence | short | "
          "follow-ups | " + " | ".join(SHORT[c] for c in FAILURE_CATEGORIES)
          + " | points | first token p50 | total p50 |")
    print("|" + "---|" * (15 + len(FAILURE_CATEGORIES)))
    for engine, by_set in results.items():
        for name, r in by_set.items():
            fails = r["failures"] or {}
            times = ("(cached)", "(cached)") if cached and engine != "extractive" else (
                f"{r['first_token_p50_ms'] / 1000:.2f} s", f"{r['total_p50_ms'] / 1000:.2f} s")
            print(f"| {engine} | {name} | {fmt(r['hit_at_1'])} | {fmt(r['hit_at_5'])} | {fmt(r['mrr'])} | "
                  f"{fmt(r['accuracy'])} | {fmt(r['abstention_accuracy'])} | {fmt(r['citation_precision'])} | "
                  f"{fmt(r['direct_first_sentence'])} | {fmt(r['evidence'])} | {fmt(r['short_first_sentence'])} | "
                  f"{fmt(r['followup_accuracy'])} | "
                  + " | ".join(str(fails.get(c, "-")) for c in FAILURE_CATEGORIES)
                  + f" | {points(r)}/{2 * r['questions']} | {times[0]} | {times[1]} |")
    if "tutorial" in results and "local" in results:
        for name in results["tutorial"]:
            if name in results["local"] and not cached:
                t, l_ = results["tutorial"][name], results["local"][name]
                print(f"local vs tutorial on {name}: first token p50 "
                      f"{l_['first_token_p50_ms'] / t['first_token_p50_ms']:.2f}x, total p50 "
                      f"{l_['total_p50_ms'] / t['total_p50_ms']:.2f}x")


def parse_sets(args) -> dict[str, tuple[Path, Path]]:
    chosen = {}
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    for name in names:
        if name not in SETS | TEST_SETS:
            raise SystemExit(f"--sets: unknown set {name!r} (choose from {', '.join(SETS | TEST_SETS)})")
        chosen[name] = (SETS | TEST_SETS)[name]
    if args.test:
        chosen.update(TEST_SETS)
    for spec in args.set or []:
        name, _, rest = spec.partition("=")
        corpus, _, questions = rest.rpartition(":")
        if not (name and corpus and questions):
            raise SystemExit(f"--set: expected NAME=CORPUS_DIR:QUESTIONS.jsonl, got {spec!r}")
        chosen[name] = (Path(corpus), Path(questions))
    return chosen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default="extractive,local",
                    help="comma-separated: extractive, local, tutorial, any spec")
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated set names")
    ap.add_argument("--set", action="append", help="NAME=CORPUS_DIR:QUESTIONS.jsonl, another set (repeatable)")
    ap.add_argument("--test", action="store_true", help="also score the held-out split (au-news-test)")
    ap.add_argument("--mixed", action="store_true",
                    help="answer every set over one index of all the chosen sets' corpora together")
    ap.add_argument("--env", action="append", default=[], help="ASSISTANT_X=VALUE for this run (repeatable)")
    ap.add_argument("--llm-cache", type=Path, help="remember the local model's generations in this JSON file")
    ap.add_argument("--out", type=Path, help="write the full report (per question) as JSON")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON instead of the table")
    args = ap.parse_args(argv)
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("ASSISTANT_"):
            raise SystemExit(f"--env: expected ASSISTANT_NAME=VALUE, got {item!r}")
        os.environ[key] = value
    if args.llm_cache:
        install_llm_cache(args.llm_cache)
    settings = Settings.from_env()
    sets = parse_sets(args)
    if args.mixed:  # every set over the union of the corpora: another story's articles as distractors
        union = list(dict.fromkeys(c.resolve() for c, _ in sets.values()))
        sets = {name: (union, q) for name, (_, q) in sets.items()}
    results: dict[str, dict] = {}
    for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
        results[engine] = {}
        for name, (corpus, qfile) in sets.items():
            questions = load_questions(qfile)
            s = corpus_index(settings, corpus)
            print(f"running {engine} on {name} ({len(questions)} questions)…", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            results[engine][name] = (run_tutorial(s, questions, folders_of(corpus)) if engine == "tutorial"
                                     else run_engine(s, questions, engine))
            print(f"  {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
            if args.out:  # after every set, so a long run that breaks keeps what it measured
                args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    if args.json:
        print(json.dumps({e: {n: {k: v for k, v in r.items() if k != "per_question"} for n, r in by.items()}
                          for e, by in results.items()}, indent=2))
        return 0
    env = " ".join(args.env)
    over = {n: " + ".join(f"{f.name}/" for f in folders_of(c)) for n, (c, _) in sets.items()}
    print(f"{', '.join(f'{n}: {q.name} over {over[n]}' for n, (_, q) in sets.items())}; k={settings.k}"
          f"{'; ' + env if env else ''}\n")
    print_table(results, cached=bool(args.llm_cache))
    return 0


if __name__ == "__main__":
    sys.exit(main())
