from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
AU_NEWS = ROOT / "bench" / "corpora" / "au-news-50"  # 50 real articles, the development corpus
VENV_BIN = Path(sys.executable).parent

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def seed_files() -> list[Path]:
    """The seed articles (``seeds/`` also holds the question set and the UI's example questions)."""
    from assistant.ingest.loading import _ignore_patterns, _is_ignored

    patterns = _ignore_patterns(SEEDS)
    return sorted(p for p in SEEDS.glob("*.txt") if not _is_ignored(p.name, patterns))


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


@pytest.fixture(scope="session")
def real_index(tmp_path_factory) -> Path:
    """The seed articles indexed once with the real embedding model (all-MiniLM-L6-v2)."""
    from assistant.ingest.indexer import Indexer
    from assistant.settings import Settings

    index_dir = tmp_path_factory.mktemp("real") / "index"
    settings = Settings.from_env(env={}, index_dir=index_dir)
    report = Indexer(settings).ingest([SEEDS])
    assert report.ok and len(report.added) == len(seed_files())
    return index_dir


@pytest.fixture(scope="session")
def au_news_index(tmp_path_factory) -> Path:
    """The au-news-50 development corpus indexed once with the real embedding model."""
    from assistant.ingest.indexer import Indexer
    from assistant.settings import Settings

    index_dir = tmp_path_factory.mktemp("au-news") / "index"
    settings = Settings.from_env(env={}, index_dir=index_dir, seeds_dir=AU_NEWS)
    report = Indexer(settings).ingest([AU_NEWS])
    assert report.ok and len(report.added) == 50
    return index_dir
