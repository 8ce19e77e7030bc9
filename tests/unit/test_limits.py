"""Limits and wrong input: each refusal is one line naming what was refused, before any work."""

from __future__ import annotations

import json

import pytest

from assistant.apps import cli
from assistant.apps.ui.app import parse_filters
from assistant.errors import FilterError, QuestionError
from assistant.pipeline import check_question
from assistant.retrieval.filters import Filters, check_query
from assistant.settings import Settings

S = Settings.from_env(env={})


def test_questions_and_histories_are_checked():
    assert check_question("  How many?  ", ["", "Who?  "], S) == ("How many?", ["Who?"])
    for question, history, message in [
        ("", [], "question: empty (ask something)"),
        ("x" * 4001, [], "question: 4,001 characters; the limit is 4,000 (ASSISTANT_MAX_QUESTION_CHARS)"),
        (42, [], "question: expected text, got int"),
        ("How many?", "Who is Zubov?", "history: expected a list of earlier questions, got str"),
        ("How many?", ["a"] * 21, "history: 21 earlier questions; the limit is 20 (ASSISTANT_MAX_HISTORY_TURNS)"),
        ("How many?", ["ok", 7], "history: turn 2 is int, not text"),
        ("How many?", ["y" * 4001], "history: turn 1 has 4,001 characters; the limit is 4,000 "
                                    "(ASSISTANT_MAX_QUESTION_CHARS)"),
    ]:
        with pytest.raises(QuestionError) as err:
            check_question(question, history, S)
        assert str(err.value) == message


def test_filters_and_queries_are_checked():
    with pytest.raises(FilterError, match="date_from 2026-03 is after date_to 2026-02: no article can match"):
        Filters.parse("2026-03", "2026-02")
    with pytest.raises(FilterError, match="sources: expected a list of outlets, got one string"):
        parse_filters(None, None, "MENAFN")
    with pytest.raises(FilterError, match="date_to: expected a date as text .* got int"):
        parse_filters(None, 2026, None)
    assert parse_filters(" 2026 ", "", ["MENAFN", ""]) == {"date_from": "2026", "date_to": None,
                                                            "sources": ["MENAFN"]}
    with pytest.raises(QuestionError, match="query: empty"):
        check_query("   ", 100)
    with pytest.raises(QuestionError, match="query: 101 characters; the limit is 100"):
        check_query("q" * 101, 100)


@pytest.mark.parametrize("argv, message", [
    (["ask", ""], "error: question: empty (ask something)"),
    (["ask", "Who?", "--from", "2026-03", "--to", "2026-02"],
     "error: date_from 2026-03 is after date_to 2026-02: no article can match"),
    (["search", ""], "error: query: empty (search for something)"),
    (["search", "x", "--from", "soon"], "error: date_from: not a date: 'soon' (use YYYY-MM-DD, YYYY-MM or YYYY)"),
])
def test_the_cli_says_one_line_and_exits_2_before_loading_anything(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "never-created"))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == message
    assert not (tmp_path / "never-created").exists()  # nothing was built or loaded


def test_records_past_the_limit_are_refused_with_one_line(hash_settings, tmp_path):
    from assistant.ingest.indexer import Indexer

    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps({"id": f"r{i}", "text": f"Record {i} about the harbour."}) + "\n"
                            for i in range(7)))
    report = Indexer(hash_settings.with_overrides(max_records_per_file=5)).ingest([feed])
    assert len(report.added) == 5
    assert [str(e) for e in report.errors] == [f"{feed}: more than 5 records (ASSISTANT_MAX_RECORDS_PER_FILE): the "
                                               "rest is not read, and articles indexed from it stay"]
