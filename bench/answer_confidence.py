"""Does the local model's confidence in its own answer tell right answers from answers to unanswerable
questions? Measured, not used (README, "What each rule is worth").

    python bench/answer_confidence.py --llm-cache FILE [--sets seeds,paraphrase,au-news] [--test] [--out FILE]

The local engine answers every set as in bench/three_sets.py (with ``--llm-cache`` its generations come
from the cache). For every answer the model wrote itself (not abstained, not the quoted fallback), a
second llama.cpp instance of the same GGUF with every position's logits kept reads the prompt and the
answer (teacher forcing) and gives the log-probability of each answer token. Features of the answer's
first sentence (up to its first ``[n]``): mean, minimum and sum of the token log-probabilities, those
of its tokens with a digit or a capital (the figure, the name), the first token's, the smallest gap to
the runner-up token; and the judge's margin (rule ``withhold-judged``) for comparison.

Printed per feature: the AUC of right answers against answers to unanswerable questions (0.5: no
separation) and against wrong answers, and the best threshold's gain if answers under it were withheld
(+1 an unanswerable question, -2 a right answer, -1 a wrong one: the points of bench/three_sets.py),
per set, the development sets summed. Takes about 12 minutes over the four sets with a full cache.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import three_sets  # noqa: E402
from llm_threads import chat_tokens  # noqa: E402

DEV = ("seeds", "paraphrase", "au-news")
FEATURES = ("mean", "min", "sum", "named_min", "named_mean", "first", "gap_min", "judge")
WITHHELD = {"right": -2, "unanswerable": 1, "wrong": -1}  # points moved by withholding such an answer

_current = threading.local()
_scorer: dict = {}


def token_logprobs(model_path: str, messages: list[dict], answer: str) -> tuple[list[float], list[float], list[str]]:
    """Each answer token's log-probability after the prompt and the answer before it, its gap to the
    best other token, and its text: one llama.cpp pass with every position's logits (the prefix shared
    with the previous call is reused)."""
    import numpy as np
    from llama_cpp import Llama

    if model_path not in _scorer:
        _scorer[model_path] = Llama(model_path=model_path, n_ctx=2048, n_threads=2, n_threads_batch=2,
                                    logits_all=True, verbose=False)
    llm = _scorer[model_path]
    prompt = chat_tokens(llm, messages, generation_prompt=True)  # as create_chat_completion renders it
    said = llm.tokenize(answer.encode(), add_bos=False, special=False)
    tokens = prompt + said
    previous = list(llm._input_ids[:llm.n_tokens])
    shared = 0
    while shared < min(len(previous), len(tokens) - 1) and previous[shared] == tokens[shared]:
        shared += 1
    llm.n_tokens = shared  # llama.cpp drops the cache past this point on the next eval
    llm.eval(tokens[shared:])
    logps, gaps, pieces = [], [], []
    for i, tok in enumerate(said):
        row = np.asarray(llm.scores[len(prompt) - 1 + i], dtype=np.float64)
        top = row.max()
        logps.append(float(row[tok] - top - math.log(np.exp(row - top).sum())))
        others = np.delete(row, tok)
        gaps.append(float(row[tok] - others.max()))
        pieces.append(llm.detokenize([tok]).decode(errors="ignore"))
    return logps, gaps, pieces


def features(logps: list[float], gaps: list[float], pieces: list[str]) -> dict[str, float]:
    """Confidence features of the first sentence (the tokens before the first ``[``)."""
    end = next((i for i, p in enumerate(pieces) if "[" in p), len(pieces)) or 1
    first = logps[:end]
    named = [logps[i] for i in range(end) if any(c.isdigit() or c.isupper() for c in pieces[i])]
    return {"mean": sum(first) / len(first), "min": min(first), "sum": sum(first),
            "named_min": min(named) if named else 0.0, "named_mean": sum(named) / len(named) if named else 0.0,
            "first": logps[0], "gap_min": min(gaps[:end])}


def install_recorder() -> None:
    """Record the features of every answer the LLM engine generates into its ``Answer.extra``
    (as ``conf_<feature>_margin``, a key bench/three_sets.py keeps in its per-question report)."""
    from assistant.answering import llm_engine
    from assistant.models.local import _chat

    generate, stream = llm_engine.LLMEngine._generate, llm_engine.LLMEngine.stream

    def recorded_generate(self, messages, n_sources, *, hold_refusal, out):
        yield from generate(self, messages, n_sources, hold_refusal=hold_refusal, out=out)
        raw = "".join(out)
        path = getattr(self.model, "model_path", None)
        _current.features = features(*token_logprobs(path, _chat(messages), raw)) if raw.strip() and path else {}

    def recorded_stream(self, question, history, passages):
        _current.features = {}
        for item in stream(self, question, history, passages):
            if hasattr(item, "abstained"):
                item.extra.update({f"conf_{k}_margin": round(v, 4) for k, v in _current.features.items()})
            yield item

    llm_engine.LLMEngine._generate = recorded_generate
    llm_engine.LLMEngine.stream = recorded_stream


def auc(pos: list[float], neg: list[float]) -> float:
    """P(a random positive scores above a random negative), ties half."""
    if not pos or not neg:
        return float("nan")
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


def outcome(row: dict) -> str:
    return "unanswerable" if not row["answerable"] else "right" if row["correct"] else "wrong"


def analyse(report: dict) -> list[dict]:
    """Per feature: the AUCs and the best withholding threshold's gain per set (None: never better
    than withholding nothing)."""
    rows = [(name, outcome(q), q["extra"]) for name, res in report.items() for q in res["per_question"]
            if not q["abstained"] and q["extra"].get("answered_by") != "quote"]
    out = []
    for feat in FEATURES:
        key = "judge_margin" if feat == "judge" else f"conf_{feat}_margin"
        scored = [(s, o, x[key]) for s, o, x in rows if x.get(key) is not None]
        by = {o: [v for _, oo, v in scored if oo == o] for o in WITHHELD}
        best = (0, None, {})
        for t in sorted({v for *_, v in scored}):
            gain: dict[str, int] = {}
            for s, o, v in scored:
                if v < t:
                    gain[s] = gain.get(s, 0) + WITHHELD[o]
            dev = sum(gain.get(s, 0) for s in DEV)
            if dev > best[0]:
                best = (dev, t, gain)
        out.append({"feature": feat, "auc_unanswerable": auc(by["right"], by["unanswerable"]),
                    "auc_wrong": auc(by["right"], by["wrong"]), "answers": {o: len(v) for o, v in by.items()},
                    "best_threshold": best[1], "gain": best[2], "dev_gain": best[0]})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(three_sets.SETS))
    ap.add_argument("--test", action="store_true", help="also the held-out split (au-news-test)")
    ap.add_argument("--llm-cache", type=Path, help="the local model's cached generations (bench/three_sets.py)")
    ap.add_argument("--out", type=Path, help="write the per-question report with the features as JSON")
    args = ap.parse_args(argv)
    install_recorder()
    report_file = args.out or Path("/tmp/answer_confidence.json")
    three_args = ["--engines", "local", "--sets", args.sets, "--out", str(report_file)]
    three_args += ["--test"] * args.test + (["--llm-cache", str(args.llm_cache)] if args.llm_cache else [])
    three_sets.main(three_args)
    table = analyse(json.loads(report_file.read_text())["local"])
    print("\n| feature | AUC right vs unanswerable | AUC right vs wrong | best threshold | gain per set "
          "(withheld under it) | development sets |")
    print("|---|---|---|---|---|---|")
    for r in table:
        gain = ", ".join(f"{s} {v:+d}" for s, v in r["gain"].items()) or "-"
        thr = "-" if r["best_threshold"] is None else f"{r['best_threshold']:.3f}"
        print(f"| {r['feature']} | {r['auc_unanswerable']:.3f} | {r['auc_wrong']:.3f} | {thr} | {gain} | "
              f"{r['dev_gain']:+d} |")
    n = table[0]["answers"]
    print(f"\nanswers the model wrote: {n['right']} right, {n['unanswerable']} to unanswerable questions, "
          f"{n['wrong']} wrong")
    return 0


if __name__ == "__main__":
    sys.exit(main())
