"""Integration tests: the real embedding model, the local LLM, real Chroma (embedded and a server),
loopback servers, the browser. Every test here is marked ``slow`` (``pytest -m "not slow"`` skips them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import AU_NEWS, SEEDS, seed_files


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.slow)


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
