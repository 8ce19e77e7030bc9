"""The README's tables render: GitHub shows a Markdown table only when its delimiter row has as many
cells as its header row (a table of results pasted with one column too many shows as raw text)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
DELIMITER = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$")


def cells(row: str) -> int:
    return len(row.strip().strip("|").split("|"))


def broken_tables(text: str) -> list[str]:
    lines = text.splitlines()
    return [f"README.md:{i + 1}: {cells(lines[i - 1])} header cells, {cells(line)} delimiter cells"
            for i, line in enumerate(lines) if i and DELIMITER.match(line) and cells(line) != cells(lines[i - 1])]


def test_every_readme_table_has_as_many_delimiter_cells_as_header_cells():
    assert broken_tables(README.read_text(encoding="utf-8")) == []


def test_the_check_finds_a_table_with_a_column_too_many():
    assert broken_tables("| a | b |\n|---|---|\n| 1 | 2 |") == []
    assert broken_tables("text\n| a | b |\n|---|---|---|\n| 1 | 2 |") == [
        "README.md:3: 2 header cells, 3 delimiter cells"]
