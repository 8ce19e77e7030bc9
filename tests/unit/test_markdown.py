"""Answers out as Markdown: footnotes that resolve to the right quotes, the engine, the timeline."""

from __future__ import annotations

import re

from assistant.apps import cli
from assistant.apps.markdown import answer_markdown, conversation_markdown

ANSWER = {"question": "How many ISIS detainees has Iraq received?", "answer": "About 5,500 [1]. Earlier, 450 [2].",
          "engine": "extractive", "citations": [
              {"n": 1, "doc_id": "b.txt", "title": "Transfer announced", "date": "2026-02-22", "source": "",
               "url": "https://example.org/b", "quote": "The Iraqi side announced about 5,500 *prisoners*.",
               "start": 10, "end": 60},
              {"n": 2, "doc_id": "a.txt", "title": "", "date": "2026-02-02", "source": "MENAFN",
               "url": "javascript:alert(1)", "quote": "Iraq has taken in 450 ISIS detainees.", "start": 0,
               "end": 37}],
          "timeline": [{"date": "2026-02-02", "value": 450.0, "unit": "ISIS detainees", "text": "450 ISIS detainees",
                        "doc_id": "a.txt", "outlet": "MENAFN", "n": 2, "quote": "Iraq has taken in 450 detainees."},
                       {"date": "2026-02-22", "value": 5500.0, "unit": "prisoners", "text": "about 5,500 prisoners",
                        "doc_id": "b.txt", "outlet": "outlet unknown", "n": 1, "quote": "…"}]}


def footnotes(md: str) -> dict[str, str]:
    return dict(re.findall(r"^\[\^([\w-]+)\]: (.*)$", md, re.MULTILINE))


def test_an_answer_as_markdown_with_footnotes():
    md = answer_markdown(ANSWER)
    assert md.startswith("## How many ISIS detainees has Iraq received?\n")
    assert "About 5,500 [^1]. Earlier, 450 [^2]." in md
    notes = footnotes(md)
    assert notes["1"].startswith("Transfer announced · 2026-02-22 · outlet unknown · <https://example.org/b> — ")
    assert "about 5,500 \\*prisoners\\*." in notes["1"] and "(b.txt, characters 10-60)" in notes["1"]
    assert notes["2"].startswith("a.txt · 2026-02-02 · MENAFN — “Iraq has taken in 450 ISIS detainees.”")
    assert "javascript" not in md  # only http(s) links
    assert "| 2026-02-02 | 450 ISIS detainees | MENAFN | [^2] |" in md
    assert "*Answered by extractive.*" in md


def test_a_conversation_numbers_its_footnotes_by_turn():
    second = {**ANSWER, "question": "And before that?", "answer": "150 [1].", "citations": ANSWER["citations"][:1],
              "timeline": [], "engine": "local", "model": "qwen", "answered_by": "quote"}
    md = conversation_markdown([ANSWER, second])
    refs = re.findall(r"\[\^([\w-]+)\](?!:)", md)
    assert refs[:2] == ["1-1", "1-2"] and "2-1" in refs
    notes = footnotes(md)
    assert set(refs) == set(notes)  # every reference resolves, and to its own turn's quote
    assert "5,500" in notes["2-1"] and "Answered by local (qwen), quoting the articles." in md


def test_ask_format_markdown_and_json_short_form():
    args = cli.build_parser().parse_args(["ask", "Who?", "--format", "markdown"])
    assert args.format == "markdown"
    assert cli.build_parser().parse_args(["ask", "Who?", "--json"]).format == "json"
    assert cli.build_parser().parse_args(["ask", "Who?"]).format == "text"
