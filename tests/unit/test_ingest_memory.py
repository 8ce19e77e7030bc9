"""The allocator settings of `assistant ingest` (assistant/ingest/memory.py): applied on glibc, harmless
elsewhere. What they are worth is measured by bench/big_file.py (README, "Scale")."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from assistant.ingest import memory


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_takes_the_settings_and_hands_freed_memory_back():
    code = ("from assistant.ingest import memory\n"
            "assert memory.tune_for_ingest()\n"
            "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20\n"
            "before = rss()\n"
            "junk = [bytes(1000) for _ in range(120_000)]\n"  # ~120 MB of heap blocks (malloc, not pymalloc)
            "grown = rss()\n"
            "del junk\n"
            "memory.release_freed_memory()\n"
            "print(before, grown, rss())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, grown, after = map(float, out.split())
    assert grown - before > 80, out
    assert after - before < (grown - before) / 2, out  # most of it is back with the system


def test_without_glibc_the_calls_do_nothing(monkeypatch):
    monkeypatch.setattr(memory, "_libc", lambda: None)
    assert memory.tune_for_ingest() is False
    assert memory.release_freed_memory() is None


def test_record_collections_keep_a_sparse_graph_and_older_indexes_still_open(tmp_path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from assistant.index.vectors import RECORD_GRAPH, ChromaStore
    from assistant.models.embedders import get_embedder

    store = ChromaStore(tmp_path / "new", get_embedder("hash"))
    for records in (store.articles, store.texts, store.catalog):
        assert records.configuration["hnsw"]["max_neighbors"] == RECORD_GRAPH["max_neighbors"]
    assert store.chunks.configuration["hnsw"]["max_neighbors"] == 16  # searched by vector: Chroma's default

    # an index written before: its record collection has Chroma's default graph, and opens as it is
    old = chromadb.PersistentClient(path=str(tmp_path / "old" / "chroma"),
                                    settings=ChromaSettings(anonymized_telemetry=False))
    old.create_collection("news_articles", embedding_function=None).add(ids=["a"], embeddings=[[1.0]])
    del old
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    reopened = ChromaStore(tmp_path / "old", get_embedder("hash"))
    assert reopened.articles.configuration["hnsw"]["max_neighbors"] == 16
    assert reopened.articles.get(ids=["a"])["ids"] == ["a"]
