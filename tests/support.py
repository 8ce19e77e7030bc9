"""Where the test data lives, shared by tests/unit and tests/integration (``import support``;
``tests/`` is on the test path, see pyproject.toml)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
AU_NEWS = ROOT / "bench" / "corpora" / "au-news-50"  # 50 real articles, the development corpus
VENV_BIN = Path(sys.executable).parent


def seed_files() -> list[Path]:
    """The seed articles (``seeds/`` also holds the question set and the UI's example questions)."""
    from assistant.ingest.loading import _ignore_patterns, _is_ignored

    patterns = _ignore_patterns(SEEDS)
    return sorted(p for p in SEEDS.glob("*.txt") if not _is_ignored(p.name, patterns))
