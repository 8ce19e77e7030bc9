"""Answers out, as Markdown: each question with its answer, whose ``[n]`` become footnotes holding the
citation (title, date, outlet, URL, and the quoted sentence), and the engine that answered.

    answer_markdown(answer_json) -> str                one answer (`assistant ask --format markdown`)
    conversation_markdown([answer_json, ...]) -> str   a conversation (the chat UI's download)

Both read the JSON of ``Answer.to_json()`` (what `ask --json` prints and the API returns).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.text.facts import OUTLET_UNKNOWN, UNDATED

_MARKER = re.compile(r"\[(\d+)\]")


def _escape(text: str) -> str:
    """Article text as Markdown text: no markup, links or HTML of its own."""
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", text or "")


def _footnote_id(turn: int, n: int) -> str:
    return f"{turn}-{n}" if turn else str(n)


def _engine(answer: dict) -> str:
    model = answer.get("model")
    by = answer.get("engine", "") + (f" ({model})" if model else "")
    if answer.get("answered_by") == "quote":
        by += ", quoting the articles"
    return by


def _body(answer: dict, turn: int) -> tuple[str, list[str]]:
    """The answer's text with its markers as footnote references, and the footnotes."""
    numbers = {c["n"] for c in answer.get("citations", [])}
    text = answer.get("answer", "")
    out, pos = [], 0
    for m in _MARKER.finditer(text):
        out.append(_escape(text[pos:m.start()]))
        n = int(m.group(1))
        out.append(f"[^{_footnote_id(turn, n)}]" if n in numbers else _escape(m.group(0)))
        pos = m.end()
    out.append(_escape(text[pos:]))
    notes = []
    for c in answer.get("citations", []):
        head = " · ".join(x for x in (c.get("title") or c.get("doc_id", ""), c.get("date") or UNDATED,
                                      c.get("source") or OUTLET_UNKNOWN) if x)
        url = c.get("url") or ""
        link = f" · <{url}>" if re.match(r"https?://", url) else ""
        notes.append(f"[^{_footnote_id(turn, c['n'])}]: {_escape(head)}{link} — “{_escape(c.get('quote', ''))}” "
                     f"({_escape(c.get('doc_id', ''))}, characters {c.get('start')}-{c.get('end')})")
    return "".join(out), notes


def _timeline(answer: dict, turn: int) -> list[str]:
    points = answer.get("timeline") or []
    if not points:
        return []
    rows = ["", "| date | figure | outlet | source |", "|---|---|---|---|"]
    rows += [f"| {p['date']} | {_escape(p['text'])} | {_escape(p['outlet'])} | [^{_footnote_id(turn, p['n'])}] |"
             for p in points]
    return rows


def _turn(answer: dict, turn: int, level: int) -> list[str]:
    body, notes = _body(answer, turn)
    lines = [f"{'#' * level} {_escape(answer.get('question', ''))}", "", body]
    lines += _timeline(answer, turn)
    lines += ["", f"*Answered by {_escape(_engine(answer))}.*"]
    if notes:
        lines += [""] + notes
    return lines


def answer_markdown(answer: dict) -> str:
    return "\n".join(_turn(answer, 0, 2)) + "\n"


def conversation_markdown(answers: Sequence[dict], title: str = "News assistant: conversation") -> str:
    lines = [f"# {title}"]
    for turn, answer in enumerate(answers, 1):
        lines += [""] + _turn(answer, turn, 2)
    return "\n".join(lines) + "\n"
