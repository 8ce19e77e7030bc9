"""Scoring against a fixed question set (``seeds/questions.jsonl`` format).

Each line: {"id", "question", "answers": [...], "sources": [doc_id, ...], "answerable": bool,
"history": [earlier user turns, optional]}. Retrieval is scored over answerable questions on
the top 5 passages: hit@1/@3/@5 (a passage from a listed source at rank <= n) and MRR.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import QuestionSetError
from assistant.text import facts


@dataclass
class Question:
    id: str
    question: str
    answers: list[str]
    sources: list[str]
    answerable: bool
    history: list[str] = field(default_factory=list)


def load_questions(path: Path | str) -> list[Question]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise QuestionSetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    out: list[Question] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionSetError(f"{where}: malformed JSON: {exc.msg}") from None
        if not isinstance(rec, dict):
            raise QuestionSetError(f"{where}: each line must be a JSON object")
        for key, kind in (("id", (str, int)), ("question", str), ("answerable", bool)):
            if not isinstance(rec.get(key), kind):
                raise QuestionSetError(f"{where}: field {key!r} is missing or has the wrong type")
        for key in ("answers", "sources", "history"):
            value = rec.get(key, [])
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise QuestionSetError(f"{where}: field {key!r} must be a list of strings")
        if rec["answerable"] and not rec.get("answers"):
            raise QuestionSetError(f"{where}: an answerable question needs at least one accepted answer")
        out.append(Question(id=str(rec["id"]), question=rec["question"], answers=rec.get("answers", []),
                            sources=rec.get("sources", []), answerable=rec["answerable"],
                            history=rec.get("history", []) or []))
    if not out:
        raise QuestionSetError(f"{path}: no questions")
    ids = [q.id for q in out]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise QuestionSetError(f"{path}: duplicate question id {dup!r}")
    return out


def first_relevant_rank(retrieved_doc_ids: Sequence[str], sources: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved passage from a supporting article, else None."""
    wanted = set(sources)
    for rank, doc_id in enumerate(retrieved_doc_ids, 1):
        if doc_id in wanted:
            return rank
    return None


def retrieval_metrics(ranks: Sequence[int | None], depth: int = 5) -> dict[str, float]:
    """hit@1/@3/@5 and MRR (cut at ``depth``) from first-relevant ranks of answerable questions."""
    n = len(ranks)
    if n == 0:
        return {"hit_at_1": 0.0, "hit_at_3": 0.0, "hit_at_5": 0.0, "mrr": 0.0, "n": 0}
    hit = lambda k: sum(1 for r in ranks if r is not None and r <= k) / n  # noqa: E731
    mrr = sum(1.0 / r for r in ranks if r is not None and r <= depth) / n
    return {"hit_at_1": round(hit(1), 4), "hit_at_3": round(hit(3), 4), "hit_at_5": round(hit(5), 4),
            "mrr": round(mrr, 4), "n": n}


def evaluate_retrieval(questions: Sequence[Question], retrieve: Callable[[Question], Sequence[str]],
                       depth: int = 5) -> dict:
    """``retrieve(question)`` returns the doc_ids of the top passages, best first."""
    rows = []
    ranks = []
    for q in questions:
        if not q.answerable:
            continue
        got = list(retrieve(q))[:depth]
        rank = first_relevant_rank(got, q.sources)
        ranks.append(rank)
        rows.append({"id": q.id, "question": q.question, "rank": rank, "retrieved": got, "sources": q.sources})
    rows.sort(key=lambda r: (r["rank"] is not None, -(r["rank"] or 0)))  # misses first, then worst ranks
    return {"retrieval": retrieval_metrics(ranks, depth), "per_question": rows}


# ---------------------------------------------------------------------------- answers
# month names and abbreviations ("sept" too) -> month number; abbreviations -> the month's name
_MONTH_NUMBER = {m: i for i, m in enumerate(facts.MONTHS, 1)} | {
    m: i for i, m in enumerate(facts.MONTH_ABBREVIATIONS[:12], 1)} | {"sept": 9}
_MONTH_OF = {m: facts.MONTHS[i - 1] for m, i in _MONTH_NUMBER.items() if m not in facts.MONTHS}


def _normalize_answer(text: str) -> str:
    """One writing for what an answer and an accepted string may write differently: markers dropped,
    "Jan." as "January", number words as digits ("seven", "forty-one"), "5,500" as "5500", "per cent"
    and "percent" as "%", "U.S." as "US", "one-third" as "one third"; case-folded."""
    text = re.sub(r"\[\d+\]", " ", text)  # citation markers
    text = re.sub(rf"\b({'|'.join(_MONTH_OF)})\.?(?=\s+\d)",
                  lambda m: _MONTH_OF[m.group(1).casefold()], text, flags=re.IGNORECASE)  # "Jan. 31" = "January 31"
    text = re.sub(r"\b((?:[A-Za-z]\.){2,})", lambda m: m.group(1).replace(".", ""), text)  # U.S. -> US
    text = re.sub(r"(?<=[A-Za-z])-(?=[A-Za-z])", " ", text)  # one-third -> one third
    text = facts.with_digits(text, threshold=0)  # seven -> 7, forty one -> 41 (text2num)
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)  # thousands separators: 5,500 -> 5500
    text = re.sub(r"(?<=\d)\s*(?:per\s?cent|percent|%)", "%", text, flags=re.IGNORECASE)  # 11 per cent -> 11%
    return re.sub(r"\s+", " ", text).casefold()


_MONTHS_RE = "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True))
_FULL_DATE = re.compile(
    r"\b(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})\b"  # 2025-02-26
    rf"|\b(?P<am>{_MONTHS_RE})\.? (?P<ad>\d{{1,2}})(?:st|nd|rd|th)?,? (?P<ay>\d{{4}})\b"  # February 26, 2025
    rf"|\b(?P<bd>\d{{1,2}})(?:st|nd|rd|th)? (?:of )?(?P<bm>{_MONTHS_RE})\.?,? (?P<by>\d{{4}})\b",  # 26 February 2025
    re.IGNORECASE)


def _full_dates(text: str) -> set[tuple[int, int, int]]:
    """Every day-month-year date in the text, however it is written, as (year, month, day)."""
    dates = set()
    for m in _FULL_DATE.finditer(text):
        if m["iy"]:
            date = int(m["iy"]), int(m["im"]), int(m["id"])
        elif m["am"]:
            date = int(m["ay"]), _MONTH_NUMBER[m["am"].casefold()], int(m["ad"])
        else:
            date = int(m["by"]), _MONTH_NUMBER[m["bm"].casefold()], int(m["bd"])
        dates.add(date)
    return dates


def answer_matches(answer: str, accepted: str) -> bool:
    """Case-insensitive containment; figures compare as whole numbers ("500" does not match "5,500");
    an accepted answer that is a whole date matches that date in any writing ("2025-02-26" is
    "February 26, 2025", "26 Feb. 2025")."""
    a, x = _normalize_answer(answer), _normalize_answer(accepted).strip()
    if not x:
        return False
    wanted = _full_dates(x)
    if wanted and _FULL_DATE.fullmatch(x) and wanted & _full_dates(a):
        return True
    pattern = re.escape(x)
    if x[0].isdigit():
        pattern = r"(?<![\d.])" + pattern
    if x[-1].isdigit():
        pattern += r"(?!\d|\.\d)"
    return re.search(pattern, a) is not None


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def answered_right(row: dict) -> bool:
    """An answerable question answered (not abstained) with an accepted string and a citation of one
    of the articles that support it."""
    return (row["answerable"] and not row["abstained"] and any(d in row["sources"] for d in row["citations"])
            and any(answer_matches(row["answer"], x) for x in row["answers"]))


def first_sentence(answer: str) -> str:
    """The answer's opening sentence, its ``[n]`` markers included (what a reader sees first)."""
    from assistant.text.sentences import sentence_spans

    text = answer.strip()
    spans = sentence_spans(text)
    if not spans:
        return text
    end = spans[0][1]
    marks = re.match(r"(?:\s*\[\d+\])+", text[end:])  # "... 450 detainees. [1]" keeps its marker
    return text[spans[0][0]:end + (marks.end() if marks else 0)]


def words(text: str) -> int:
    """Words of a sentence, citation markers not counted."""
    return len(re.findall(r"\w[\w'’.,-]*", re.sub(r"\[\d+\]", " ", text)))


# Why a question failed: the first of these that applies.
FAILURE_CATEGORIES = ("answered_unanswerable", "wrongly_abstained", "retrieval_miss", "wrong_answer",
                      "no_right_citation")


def failure_category(row: dict) -> str | None:
    """None for a question answered or abstained on rightly; else the first category that applies:
    answered an unanswerable one, wrongly abstained, retrieval miss (no supporting article in the top 5),
    wrong answer (no accepted string), right answer without a citation of a supporting article."""
    if not row["answerable"]:
        return None if row["abstained"] else "answered_unanswerable"
    if answered_right(row):
        return None
    if row["abstained"]:
        return "wrongly_abstained"
    if row.get("rank") is None and "rank" in row:
        return "retrieval_miss"
    if not any(answer_matches(row["answer"], x) for x in row["answers"]):
        return "wrong_answer"
    return "no_right_citation"


def score_answers(rows: Sequence[dict]) -> dict:
    """rows: {"answerable", "answers", "sources", "answer", "abstained", "citations": [doc_id, ...]}."""
    answerable = [r for r in rows if r["answerable"]]
    correct = sum(1 for r in answerable if answered_right(r))
    cited = [(doc, r["sources"]) for r in rows for doc in r["citations"]]
    precise = sum(1 for doc, sources in cited if doc in sources)
    abstention = sum(1 for r in rows if r["abstained"] == (not r["answerable"]))
    verification = {"invalid_citations": sum(r.get("invalid_citations", 0) for r in rows),
                    "unsupported_sentences": sum(r.get("unsupported_sentences", 0) for r in rows),
                    "ungrounded_answers": sum(1 for r in rows if not r.get("grounded", True)),
                    # LLM engines: answers that quote the extractive scorer's sentences (the model's gave way)
                    "quoted_answers": sum(1 for r in rows if (r.get("extra") or {}).get("answered_by") == "quote")}
    right = [r for r in answerable if answered_right(r)]
    direct = sum(1 for r in right if any(answer_matches(first_sentence(r["answer"]), x) for x in r["answers"]))
    # right answers whose cited sentences (what a reader sees on opening the citations) hold an accepted string
    evidence = sum(1 for r in right if any(answer_matches(q, x) for q in r.get("quotes") or () for x in r["answers"]))
    answered = [r for r in rows if not r["abstained"]]
    followups = [r for r in answerable if r.get("history")]
    failures = dict.fromkeys(FAILURE_CATEGORIES, 0)
    for r in rows:
        cat = failure_category(r)
        if cat:
            failures[cat] += 1
    return {"accuracy": round(correct / len(answerable), 4) if answerable else 0.0,
            "citation_precision": round(precise / len(cited), 4) if cited else None,
            "abstention_accuracy": round(abstention / len(rows), 4) if rows else 0.0,
            # right answers whose first sentence alone holds an accepted string
            "direct_first_sentence": round(direct / len(right), 4) if right else None,
            "evidence": (round(evidence / len(right), 4) if right and all("quotes" in r for r in right) else None),
            # answers (not abstentions) that open with a sentence of at most 18 words
            "short_first_sentence": (round(sum(words(first_sentence(r["answer"])) <= 18 for r in answered)
                                           / len(answered), 4) if answered else None),
            "followup_accuracy": (round(sum(answered_right(r) for r in followups) / len(followups), 4)
                                  if followups else None),
            "answerable": len(answerable), "unanswerable": len(rows) - len(answerable), "citations": len(cited),
            "followups": len(followups), "failures": failures, **verification}


def evaluate(assistant, questions: Sequence[Question], *, mode: str | None = None, k: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Score retrieval on the top 5 passages, and answer exactly as `assistant ask` would (top k)."""
    k = k or assistant.settings.k
    rows, ranks, latencies, first_tokens = [], [], [], []
    for i, q in enumerate(questions, 1):
        t0 = time.perf_counter()
        answer = assistant.ask(q.question, q.history, mode=mode, k=k)  # exactly as `assistant ask` (top k)
        elapsed = (time.perf_counter() - t0) * 1000
        latencies.append(elapsed)
        first_tokens.append(answer.timings_ms.get("first_token", elapsed))
        docs = assistant.retrieve(q.question, q.history, standalone=answer.extra.get("standalone_question"),
                                  k=5, mode=mode)  # retrieved as `ask` retrieves it
        top5 = [d.metadata["doc_id"] for d in docs[:5]]
        rank = first_relevant_rank(top5, q.sources) if q.answerable else None
        if q.answerable:
            ranks.append(rank)
        row = {"id": q.id, "question": q.question, "history": q.history, "answerable": q.answerable,
               "answers": q.answers, "sources": q.sources, "answer": answer.answer, "abstained": answer.abstained,
               "citations": [c.doc_id for c in answer.citations],
               "quotes": [c.quote for c in answer.citations], "rank": rank, "latency_ms": round(elapsed, 1),
               "first_token_ms": round(answer.timings_ms.get("first_token", elapsed), 1),
               "grounded": answer.grounded, "invalid_citations": answer.invalid_citations,
               "unsupported_sentences": len(answer.unsupported_sentences)}
        row["correct"] = answered_right(row) if q.answerable else answer.abstained
        row["failure"] = failure_category(row)
        row["extra"] = dict(answer.extra)
        rows.append(row)
        if progress:
            progress(i, len(questions))
    report = {"questions": len(questions), "mode": mode or assistant.settings.mode, "k": k,
              "engine": assistant.engine.name, "retrieval": retrieval_metrics(ranks),
              "answers": score_answers(rows),
              "latency_ms": {"p50": round(percentile(latencies, 50), 1), "p95": round(percentile(latencies, 95), 1)},
              "first_token_ms": {"p50": round(percentile(first_tokens, 50), 1),
                                 "p95": round(percentile(first_tokens, 95), 1)}}
    if getattr(assistant.engine, "model_name", None):
        report["model"] = assistant.engine.model_name
    report["retrieval"].pop("n", None)
    report["per_question"] = sorted(rows, key=lambda r: r["correct"])  # failures first (stable)
    return report
