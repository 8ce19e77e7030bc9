"""Fixtures every test folder shares: a private copy of the seeds, settings for a throwaway index."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from support import seed_files

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A private copy of the seed articles (tests may edit or delete files in it)."""
    d = tmp_path / "seeds"
    d.mkdir()
    for f in seed_files():
        shutil.copy(f, d / f.name)
    return d


@pytest.fixture
def hash_settings(tmp_path: Path, seeds_copy: Path):
    """Settings for fast tests: a throwaway index and the model-free hashing embedder."""
    from assistant.settings import Settings

    return Settings.from_env(env={}, index_dir=tmp_path / "index", seeds_dir=seeds_copy, embedder="hash",
                             cache_dir=tmp_path / "cache")
