"""The packaged local model's llama.cpp settings, side by side in one run: threads and flash attention.

    python bench/llm_threads.py [--rounds 5] [--questions 6] [--gen 40]

Loads the packaged GGUF once per configuration (``n_threads`` for generation / ``flash_attn``; the prompt
is always read with ``n_threads_batch=2``): 1 thread without flash attention (the old default), 2
threads without (the default), 1 with, and 2 with. For each of the first ``--questions`` questions of
``bench/au_news_questions.jsonl`` it builds the answer prompt as the engine renders it (``prompts/answer.txt``,
numbered sources) over the question's top 4 whole passages of the au-news-50 corpus (compression off), has
the system section read first (the cached prefix, as ``serve`` keeps it; both sections rendered by the GGUF's own chat
template, as ``create_chat_completion`` renders them), then times reading the user
section (what the first token waits for) and generating ``--gen`` tokens greedily. Rounds alternate the
order of the configurations. Prints medians over rounds and questions, and each configuration's ratio to
the old default. Answers are unchanged by the thread count (greedy decoding; the eval tables are equal);
flash attention changes the arithmetic slightly, so its quality is measured by ``bench/three_sets.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIGS = (("1 thread, no flash attention (old default)", 1, False),
           ("2 threads, no flash attention (default)", 2, False),
           ("1 thread, flash attention", 1, True), ("2 threads, flash attention", 2, True))


def prompts(n: int) -> list[tuple[str, str]]:
    """(system, user) texts of the answer prompt for the first n au-news questions: the engine's own
    template and source rendering, over whole passages (compression off)."""
    from three_sets import SETS, corpus_index

    from assistant.answering.context import build_sources, render_sources
    from assistant.answering.prompts import chat_prompt
    from assistant.pipeline import Assistant
    from assistant.settings import Settings
    from assistant.text.tokens import count_tiktoken

    corpus, qfile = SETS["au-news"]
    settings = corpus_index(Settings.from_env(), corpus)
    assistant = Assistant(settings.with_overrides(llm="extractive"))
    template = chat_prompt("answer", ("sources", "earlier", "question"))
    out = []
    for line in qfile.read_text().splitlines()[:n]:
        q = json.loads(line)
        passages = assistant.retriever.invoke(q["question"])[:4]
        sources = build_sources(q["question"], passages, budget=settings.n_ctx, compress=False, count=count_tiktoken,
                                rank=lambda *_: [], floor=settings.context_floor)
        system, user = template.format_messages(sources=render_sources(sources), earlier="", question=q["question"])
        out.append((system.text, user.text))
    return out


def chat_tokens(llm, messages: list[dict], generation_prompt: bool) -> list[int]:
    """The tokens of ``messages`` as the GGUF's own chat template renders them (the template
    ``create_chat_completion``, the engine's call, reads them with)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    meta = llm.metadata
    formatter = Jinja2ChatFormatter(template=meta["tokenizer.chat_template"], eos_token="", bos_token="",
                                    add_generation_prompt=generation_prompt)
    return llm.tokenize(formatter(messages=messages).prompt.encode(), add_bos=False, special=True)


def prompt_tokens(llm, system: str, user: str) -> tuple[list[int], list[int]]:
    """(the system section: the cached prefix; the user section and the assistant's opening: what the
    first token waits for)."""
    prefix = chat_tokens(llm, [{"role": "system", "content": system}], generation_prompt=False)
    full = chat_tokens(llm, [{"role": "system", "content": system}, {"role": "user", "content": user}],
                       generation_prompt=True)
    if full[:len(prefix)] != prefix:
        raise SystemExit("the chat template renders the system section differently alone: no cached prefix")
    return prefix, full[len(prefix):]


def measure(llm, system: str, user: str, gen: int) -> tuple[float, float]:
    """(seconds to read the user section, generated tokens per second)."""
    prefix, rest = prompt_tokens(llm, system, user)
    llm.reset()
    llm.eval(prefix)
    t0 = time.perf_counter()
    llm.eval(rest)
    read = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(gen):
        tok = llm.sample(top_k=1, temp=0.0)
        llm.eval([tok])
    return read, gen / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--questions", type=int, default=6)
    ap.add_argument("--gen", type=int, default=40, help="tokens generated per question")
    args = ap.parse_args(argv)

    from llama_cpp import Llama

    from assistant.models.local import packaged_model_path
    from assistant.settings import Settings

    path = packaged_model_path(Settings.from_env().models_path)
    texts = prompts(args.questions)
    models = [Llama(model_path=str(path), n_ctx=2048, n_threads=t, n_threads_batch=2, flash_attn=fa, verbose=False)
              for _, t, fa in CONFIGS]
    reads: dict[int, list[float]] = {i: [] for i in range(len(CONFIGS))}
    speeds: dict[int, list[float]] = {i: [] for i in range(len(CONFIGS))}
    for r in range(args.rounds):
        order = list(range(len(CONFIGS)))
        order = order if r % 2 == 0 else order[::-1]
        for system, user in texts:
            for i in order:
                read, speed = measure(models[i], system, user, args.gen)
                reads[i].append(read)
                speeds[i].append(speed)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    tokens = statistics.median(len(prompt_tokens(models[0], s, u)[1]) for s, u in texts)
    print(f"{args.questions} au-news prompts (user section median {tokens:.0f} tokens), {args.rounds} rounds, "
          f"{args.gen} tokens generated each; medians\n")
    print("| configuration | read prompt | vs old | generate | vs old |")
    print("|---|---|---|---|---|")
    base_read, base_speed = statistics.median(reads[0]), statistics.median(speeds[0])
    for i, (name, _, _) in enumerate(CONFIGS):
        read, speed = statistics.median(reads[i]), statistics.median(speeds[i])
        print(f"| {name} | {read:.2f} s | {read / base_read:.2f}x | {speed:.1f} tokens/s | {speed / base_speed:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
