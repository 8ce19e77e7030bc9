"""The assistant's answer engines against the LangChain RAG tutorial pipeline, side by side, in one run.

    python bench/llm_vs_tutorial.py [--questions FILE] [--json]
                                    [--only extractive,local,local-model-only,local-whole,tutorial]

Rows:
  extractive   the model-free engine (hybrid retrieval, k=4)
  local        the LLM engine on the packaged Qwen2.5-Coder-1.5B: hybrid retrieval (k=4), compressed
               numbered sources, fixed cached system prefix, verified citations, and the quoted
               fallback: the extractive scorer's sentences when the model declines, is withheld or
               cites another source than the best sentence's (the default)
  local-model-only  the same without the quoted fallback (ASSISTANT_QUOTE_FALLBACK=false): every
               answer is the model's
  local-whole  the same with whole passages in the prompt (ASSISTANT_COMPRESS=false)
  tutorial     the LangChain RAG tutorial pipeline on the same model: the raw article files split by
               RecursiveCharacterTextSplitter(1000, 200), Chroma similarity search k=4 (same MiniLM
               embeddings), the tutorial's "Use the following pieces of retrieved context…" prompt as
               one user message (so the GGUF's default system message applies), no citations. It has no
               memory: a follow-up gets its earlier turns prepended to the question.

Accuracy: an answerable question answered (not abstained) with an accepted string; for the engines a
valid citation is also required, the tutorial has none to give. Abstention accuracy: abstained exactly
when the question is unanswerable (the tutorial abstains when it says it doesn't know or the context
doesn't say). First token: from the question's arrival (condensing and retrieval included) to the
first streamed text. The local model is loaded once, before any timing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.apps.cli import ensure_index  # noqa: E402
from assistant.apps.evaluation import answer_matches, evaluate, load_questions, percentile  # noqa: E402
from assistant.settings import Settings  # noqa: E402

TUTORIAL_PROMPT = ("You are an assistant for question-answering tasks. Use the following pieces of retrieved context "
                   "to answer the question. If you don't know the answer, just say that you don't know. Use three "
                   "sentences maximum and keep the answer concise.\nQuestion: {question} \nContext: {context} "
                   "\nAnswer:")
CONFIGS = ("extractive", "local", "local-model-only", "local-whole", "tutorial")


def run_engine(settings: Settings, questions, name: str) -> dict:
    from assistant.pipeline import Assistant

    if name == "extractive":
        settings = settings.with_overrides(llm="extractive")
    else:
        settings = settings.with_overrides(llm="local", compress=(name != "local-whole"),
                                           quote_fallback=(name != "local-model-only"))
    assistant = Assistant(settings)
    assistant.ask("warm-up: how many?")  # loads the embedder and the model outside the timings
    report = evaluate(assistant, questions)
    a = report["answers"]
    prompt_tokens = [r["extra"].get("prompt_tokens") for r in report["per_question"] if r["extra"].get("prompt_tokens")]
    return {"accuracy": a["accuracy"], "abstention_accuracy": a["abstention_accuracy"],
            "citation_precision": a["citation_precision"], "invalid_citations": a["invalid_citations"],
            "unsupported_sentences": a["unsupported_sentences"], "ungrounded_answers": a["ungrounded_answers"],
            "quoted_answers": a["quoted_answers"], "first_token_p50_ms": report["first_token_ms"]["p50"],
            "total_p50_ms": report["latency_ms"]["p50"],
            "prompt_tokens_median": percentile(prompt_tokens, 50) if prompt_tokens else None,
            "per_question": [{k: r[k] for k in ("id", "answerable", "answer", "abstained", "correct", "citations",
                                                "first_token_ms", "latency_ms")} for r in report["per_question"]]}


class TutorialPipeline:
    """The LangChain RAG tutorial pipeline over the raw article files of ``corpora`` (default: the
    seeds): split by RecursiveCharacterTextSplitter(1000, 200), an in-memory Chroma collection with
    the same embeddings, similarity search k=4, the tutorial's prompt as one user message. ``model``:
    the chat model to answer with (default: the packaged local model, the engine's own instance)."""

    def __init__(self, settings: Settings, corpora: Sequence[Path] = (), model=None):
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_core.messages import HumanMessage
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from assistant.ingest.loading import _ignore_patterns, _is_ignored
        from assistant.models.chat import get_chat_model
        from assistant.models.embedders import get_embedder

        self.embedder = get_embedder(settings.embedder)
        self.model = model or get_chat_model("local", settings)
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        texts, ids = [], []
        paths = []
        for folder in corpora or [settings.seeds_dir]:  # the raw article files of every folder indexed
            patterns = _ignore_patterns(folder)
            paths += [p for p in sorted(folder.glob("*.txt")) if not _is_ignored(p.name, patterns)]
        for path in paths:
            for i, chunk in enumerate(splitter.split_text(path.read_text(encoding="utf-8", errors="replace"))):
                texts.append(chunk)
                ids.append(f"{path.name}#{i}")
        client = chromadb.EphemeralClient(ChromaSettings(anonymized_telemetry=False))
        self.col = client.create_collection(f"tutorial-{uuid.uuid4().hex[:12]}")  # one process, several corpora
        self.col.add(ids=ids, documents=texts, embeddings=self.embedder.embed_documents(texts))
        list(self.model.stream([HumanMessage("warm-up")]))  # load outside the timings

    def answer(self, q) -> dict:
        """One question answered and timed (first streamed text, total), scored as the eval scores."""
        from langchain_core.messages import HumanMessage

        from assistant.answering.verify import is_refusal
        from assistant.text.tokens import count_tiktoken

        question = " ".join([*q.history, q.question])  # no memory: earlier turns prepended
        t0 = time.perf_counter()
        hits = self.col.query(query_embeddings=[self.embedder.embed_query(question)], n_results=4)
        context = "\n\n".join(hits["documents"][0])
        prompt = TUTORIAL_PROMPT.format(question=question, context=context)
        first, parts = None, []
        for chunk in self.model.stream([HumanMessage(prompt)]):
            if chunk.text and first is None:
                first = time.perf_counter()
            parts.append(chunk.text)
        end = time.perf_counter()
        answer = "".join(parts).strip()
        abstained = is_refusal(answer) or "don't know" in answer.casefold() or "do not know" in answer.casefold()
        correct = (not abstained and any(answer_matches(answer, x) for x in q.answers)) if q.answerable else abstained
        return {"id": q.id, "answerable": q.answerable, "answer": answer, "abstained": abstained,
                "correct": correct, "first_token_ms": round(((first or end) - t0) * 1000, 1),
                "latency_ms": round((end - t0) * 1000, 1), "prompt_tokens": count_tiktoken(prompt),
                "sources": [i.split("#")[0] for i in hits["ids"][0]]}


def run_tutorial(settings: Settings, questions, corpora: Sequence[Path] = ()) -> dict:
    pipeline = TutorialPipeline(settings, corpora)
    rows = [pipeline.answer(q) for q in questions]
    answerable = [r for r in rows if r["answerable"]]
    return {"accuracy": round(sum(r["correct"] for r in answerable) / len(answerable), 4),
            "abstention_accuracy": round(sum(r["abstained"] == (not r["answerable"]) for r in rows) / len(rows), 4),
            "citation_precision": None, "invalid_citations": None, "unsupported_sentences": None,
            "ungrounded_answers": sum(1 for r in rows if not r["abstained"]), "quoted_answers": None,
            "unanswerable_answered": sum(1 for r in rows if not r["answerable"] and not r["abstained"]),
            "first_token_p50_ms": percentile([r["first_token_ms"] for r in rows], 50),
            "total_p50_ms": percentile([r["latency_ms"] for r in rows], 50),
            "prompt_tokens_median": percentile([r["prompt_tokens"] for r in rows], 50),
            "per_question": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, default=ROOT / "seeds" / "questions.jsonl")
    ap.add_argument("--only", default=",".join(CONFIGS), help="comma-separated rows to run")
    ap.add_argument("--out", type=Path, help="write the full report (per question) as JSON")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    settings = Settings.from_env()
    ensure_index(settings)
    questions = load_questions(args.questions)
    results = {}
    for name in [c.strip() for c in args.only.split(",") if c.strip()]:
        if name not in CONFIGS:
            ap.error(f"--only: unknown row {name!r} (choose from {', '.join(CONFIGS)})")
        print(f"running {name} on {len(questions)} questions…", file=sys.stderr, flush=True)
        results[name] = (run_tutorial(settings, questions) if name == "tutorial"
                         else run_engine(settings, questions, name))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    if args.json:
        summary = {k: {m: v for m, v in r.items() if m != "per_question"} for k, r in results.items()}
        print(json.dumps(summary, indent=2))
        return 0
    n_ans = sum(q.answerable for q in questions)
    print(f"{args.questions.name}: {len(questions)} questions ({n_ans} answerable), k=4, model "
          f"qwen2.5-coder-1.5b-instruct-q4_k_m, n_threads={settings.n_threads}/{settings.n_threads_batch}\n")
    print("| pipeline         | accuracy | abstention acc. | citation precision | invalid citations | quoted answers "
          "| prompt tokens (median) | first token p50 | total p50 |")
    print("|------------------|----------|-----------------|--------------------|-------------------|----------------"
          "|------------------------|-----------------|-----------|")
    fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
    for name, r in results.items():
        print(f"| {name:<16} | {r['accuracy']:.3f}    | {r['abstention_accuracy']:.3f}           | "
              f"{fmt(r['citation_precision'], '.3f'):<18} | {fmt(r['invalid_citations'], 'd'):<17} | "
              f"{fmt(r['quoted_answers'] if name.startswith('local') else None, 'd'):<14} | "
              f"{fmt(r['prompt_tokens_median'], '.0f'):<22} | {r['first_token_p50_ms'] / 1000:>13.2f} s | "
              f"{r['total_p50_ms'] / 1000:>7.2f} s |")
    if "tutorial" in results and "local" in results:
        t, l_ = results["tutorial"], results["local"]
        print(f"\nlocal vs tutorial: first token p50 {l_['first_token_p50_ms'] / t['first_token_p50_ms']:.2f}x, "
              f"total p50 {l_['total_p50_ms'] / t['total_p50_ms']:.2f}x; tutorial answered "
              f"{t['unanswerable_answered']} of {len(questions) - n_ans} unanswerable questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
