"""Scoring against a fixed question set (``seeds/questions.jsonl`` format).

Each line: {"id", "question", "answers": [...], "sources": [doc_id, ...], "answerable": bool,
"history": [earlier user turns, optional]}. Retrieval is scored over answerable questions on
the top 5 passages: hit@1/@3/@5 (a passage from a listed source at rank <= n) and MRR.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence


class QuestionSetError(ValueError):
    pass


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
