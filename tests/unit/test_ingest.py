"""Incremental ingest with the model-free hashing embedder (real Chroma, real BM25)."""

from __future__ import annotations

import json

import pytest

import assistant.ingest.indexer as indexer_module
from assistant.errors import IndexStateError
from assistant.index.keyword import SCHEMA_VERSION
from assistant.index.layout import IndexDir
from assistant.index.vectors import ChromaStore
from assistant.ingest.indexer import Indexer
from assistant.retrieval.retriever import NewsRetriever


def consistent(indexer: Indexer) -> set[str]:
    """The article records, Chroma's chunks and the keyword index hold exactly the same chunk ids, and
    nothing is pending; returns them."""
    listed = {c for d in indexer.catalog.load().docs.values() for c in d.chunk_ids}
    assert set(indexer.store.chunks.get(include=[])["ids"]) == listed
    assert indexer.keyword.chunk_ids() == listed
    assert indexer.store.get_record("pending") is None
    return listed


def docs_of(indexer: Indexer) -> dict:
    return indexer.catalog.load().docs


def sentence_texts(indexer: Indexer, doc_id: str) -> set[str]:
    """The distinct texts embedded for an article: its chunks' sentences and its title."""
    entry = docs_of(indexer)[doc_id]
    rows = indexer.store.get_chunks(entry.chunk_ids).values()
    return {r.text[s:e] for r in rows for s, e, _ in r.sentence_vectors()} | ({entry.title} if entry.title else set())


def test_ingest_then_reingest_embeds_nothing(hash_settings):
    indexer = Indexer(hash_settings)
    first = indexer.ingest([hash_settings.seeds_dir])
    assert first.ok and len(first.added) == 5 and first.chunks_embedded == first.total_chunks > 5
    ids = consistent(indexer)
    calls = indexer.embedder.calls
    again = Indexer(hash_settings, embedder=indexer.embedder).ingest([hash_settings.seeds_dir])
    assert (len(again.unchanged), again.added, again.updated, again.removed) == (5, [], [], [])
    assert again.chunks_embedded == 0 and indexer.embedder.calls == calls
    assert consistent(indexer) == ids


def test_changed_file_is_replaced_and_deleted_file_removed_within_its_folder(hash_settings, tmp_path):
    seeds = hash_settings.seeds_dir
    other = tmp_path / "other"
    other.mkdir()
    (other / "extra.txt").write_text("An unrelated article about Russian visa procedures for investors.")
    indexer = Indexer(hash_settings)
    indexer.ingest([seeds, other])
    old_ids = consistent(indexer)
    old_chunks_004 = set(docs_of(indexer)["004_68573ee398939c01.txt"].chunk_ids)

    f = seeds / "004_68573ee398939c01.txt"
    f.write_text(f.read_text() + "\n\nA new closing paragraph about prisoner exchanges with Moscow.")
    (seeds / "000_9b2a7a8087030aa2.txt").unlink()
    calls = indexer.embedder.calls
    report = indexer.ingest([seeds])  # only the seeds folder is re-scanned
    assert report.updated == ["004_68573ee398939c01.txt"]
    assert report.removed == ["000_9b2a7a8087030aa2.txt"]
    assert len(report.unchanged) == 3
    # only the changed file's sentences were embedded, each once
    assert indexer.embedder.calls - calls == len(sentence_texts(indexer, "004_68573ee398939c01.txt"))
    ids = consistent(indexer)
    assert not (old_chunks_004 & ids)  # the changed file's old chunks are gone from Chroma and BM25
    docs = docs_of(indexer)
    assert "extra.txt" in docs  # from another folder: untouched
    assert "000_9b2a7a8087030aa2.txt" not in docs
    text = indexer.catalog.article_text("004_68573ee398939c01.txt")
    assert text.endswith("prisoner exchanges with Moscow.")
    assert len(ids) < len(old_ids) + 5


def test_remove_and_unknown_doc(hash_settings):
    indexer = Indexer(hash_settings)
    indexer.ingest([hash_settings.seeds_dir])
    report = indexer.remove(["001_efd61a3e5694ca25.txt"])
    assert report.removed == ["001_efd61a3e5694ca25.txt"] and report.total_docs == 4
    consistent(indexer)
    with pytest.raises(IndexStateError, match="not in the index"):
        indexer.remove(["nope.txt"])


def test_bad_file_in_batch_keeps_the_rest_and_what_was_indexed(hash_settings):
    seeds = hash_settings.seeds_dir
    indexer = Indexer(hash_settings)
    indexer.ingest([seeds])
    before = consistent(indexer)
    # a previously good file turns into garbage, and a new bad file appears: both fail, nothing indexed is lost
    (seeds / "002_f71bf586061099c0.txt").write_bytes(b"\xff\xfe\x00garbage")
    (seeds / "new.json").write_text("{broken")
    (seeds / "fresh.txt").write_text("Fresh article: Iraq and Syria agree on border security.")
    report = indexer.ingest([seeds])
    assert not report.ok and len(report.errors) == 2
    assert report.added == ["fresh.txt"] and report.removed == []
    assert "002_f71bf586061099c0.txt" in docs_of(indexer)
    assert before < consistent(indexer)


def test_same_doc_id_from_another_file_is_an_error_not_an_overwrite(hash_settings, tmp_path):
    indexer = Indexer(hash_settings)
    indexer.ingest([hash_settings.seeds_dir])
    impostor = tmp_path / "elsewhere" / "003_0e26de0699d51022.txt"
    impostor.parent.mkdir()
    impostor.write_text("A completely different article that happens to share the file name.")
    report = indexer.ingest([impostor])
    assert not report.ok and "already indexed" in str(report.errors[0])
    entry = docs_of(indexer)["003_0e26de0699d51022.txt"]
    assert entry.origin_file == str((hash_settings.seeds_dir / "003_0e26de0699d51022.txt").resolve())


def test_jsonl_record_removed_from_file(hash_settings, tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"id": "a", "text": "Article A about Iraq."}) + "\n"
                    + json.dumps({"id": "b", "text": "Article B about Iran."}) + "\n")
    indexer = Indexer(hash_settings)
    assert sorted(indexer.ingest([feed]).added) == ["a", "b"]
    feed.write_text(json.dumps({"id": "a", "text": "Article A about Iraq."}) + "\n")
    report = indexer.ingest([feed])
    assert report.removed == ["b"] and report.unchanged == ["a"]
    consistent(indexer)


def test_new_chunk_settings_reembed_everything(hash_settings):
    indexer = Indexer(hash_settings)
    first = indexer.ingest([hash_settings.seeds_dir])
    smaller = Indexer(hash_settings.with_overrides(chunk_tokens=60, chunk_overlap=10), embedder=indexer.embedder)
    report = smaller.ingest([hash_settings.seeds_dir])
    assert sorted(report.reindexed) == sorted(first.added) and report.unchanged == []
    assert report.total_chunks > first.total_chunks
    consistent(smaller)


def test_readers_never_see_half_an_ingest(hash_settings, monkeypatch):
    indexer = Indexer(hash_settings)
    indexer.ingest([hash_settings.seeds_dir])
    retriever = NewsRetriever(settings=hash_settings, k=50, embedder=indexer.embedder)
    before = {d.id for d in retriever.invoke("Iraq detainees")}
    (hash_settings.seeds_dir / "late.txt").write_text("Breaking: Iraq detainees moved again, officials say.")

    def crash(self, entries, texts, stale_texts=()):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ChromaStore, "put_articles", crash)
    with pytest.raises(RuntimeError):
        indexer.ingest([hash_settings.seeds_dir])  # chunks reached Chroma, the article record never did
    assert indexer.store.chunk_count() > indexer.catalog.load().chunk_count
    assert indexer.store.get_record("pending")["docs"] == ["late.txt"]
    after = {d.id for d in retriever.invoke("Iraq detainees")}
    assert after == before  # the orphan chunks are invisible
    monkeypatch.undo()
    report = indexer.ingest([hash_settings.seeds_dir])
    assert report.added == ["late.txt"] and report.cleaned_versions == 1
    consistent(indexer)  # and the next ingest cleaned them up
    assert "late.txt" in {d.metadata["doc_id"] for d in retriever.invoke("Iraq detainees moved again")}


def test_second_writer_waits_for_the_lock(hash_settings):
    from filelock import FileLock

    indexer = Indexer(hash_settings, lock_timeout=0.2)
    hash_settings.index_dir.mkdir(parents=True)
    with FileLock(str(IndexDir(hash_settings.index_dir).lock_path)):
        with pytest.raises(IndexStateError, match="another ingest"):
            indexer.ingest([hash_settings.seeds_dir])
    assert indexer.ingest([hash_settings.seeds_dir]).ok


def test_progress_lines_when_stderr_is_not_a_terminal(hash_settings, monkeypatch):
    import io

    from assistant.apps.cli import IngestProgress

    monkeypatch.setattr(indexer_module, "BATCH_GROWTH", 1)  # batches of 3 chunks, however fast
    out = io.StringIO()
    progress = IngestProgress(every=0.0, stream=out)
    report = Indexer(hash_settings.with_overrides(ingest_batch=3)).ingest([hash_settings.seeds_dir], progress=progress)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 3 and all(line.startswith("ingest: ") and "chunks embedded of" in line for line in lines)
    assert lines[-1].startswith(f"ingest: {report.chunks_embedded:,} chunks embedded of {report.chunks_embedded:,}")
    quiet = io.StringIO()
    slow = IngestProgress(every=3600.0, stream=quiet)  # at most one line an hour: only the first
    for i in range(1, 50):
        slow(i, 100)
    assert len(quiet.getvalue().splitlines()) <= 1


def test_batches_commit_as_they_go(hash_settings, monkeypatch):
    """With small batches, articles are committed batch by batch: a crash after the first batches
    keeps them, and the re-run embeds only what was not committed."""
    from assistant.index.catalog import Catalog

    monkeypatch.setattr(indexer_module, "BATCH_GROWTH", 1)
    settings = hash_settings.with_overrides(ingest_batch=3)
    indexer = Indexer(settings)
    commits = []
    real_commit = Catalog.commit

    def commit_then_maybe_crash(self, put, remove, **kw):
        version = real_commit(self, put, remove, **kw)
        commits.append([e.doc_id for e, _ in put])
        if len(commits) == 2:
            raise KeyboardInterrupt("killed after the second batch")
        return version

    monkeypatch.setattr(Catalog, "commit", commit_then_maybe_crash)
    with pytest.raises(KeyboardInterrupt):
        indexer.ingest([settings.seeds_dir])
    monkeypatch.undo()
    kept = {d for batch in commits for d in batch}
    assert len(commits) == 2 and 2 <= len(kept) < 5
    assert set(docs_of(indexer)) == kept
    report = Indexer(settings, embedder=indexer.embedder).ingest([settings.seeds_dir])
    assert sorted(report.unchanged) == sorted(kept) and len(report.added) == 5 - len(kept)
    consistent(indexer)


def test_article_texts_come_back_whole_from_their_chunks_or_their_record(hash_settings, tmp_path):
    """Citations quote the cleaned text by offsets: every article's text reads back exactly, whether its
    chunks hold all of it (no separate record written) or not."""
    from assistant.ingest.loading import load_paths

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "long.txt").write_text("\n\n".join(f"Paragraph {i} says something about harbour {i}." for i in range(60)))
    (corpus / "short.txt").write_text("A short note about the harbour.")
    settings = hash_settings.with_overrides(index_dir=tmp_path / "idx", chunk_tokens=40, chunk_overlap=10)
    indexer = Indexer(settings)
    indexer.ingest([corpus, hash_settings.seeds_dir])
    texts = {a.doc_id: a.text for a in load_paths([corpus, hash_settings.seeds_dir]).articles}
    docs = docs_of(indexer)
    assert docs["short.txt"].text_in_chunks and docs["long.txt"].chunks > 3
    for doc_id, text in texts.items():
        assert indexer.catalog.article_text(doc_id) == text, doc_id
    written = set(indexer.store.texts.get(include=[])["ids"])
    assert written == {d for d, e in docs.items() if not e.text_in_chunks}


def test_chroma_holds_packed_records_and_reads_an_older_index_as_it_is(hash_settings):
    """Each metadata key costs Chroma a write, so records carry one JSON string and only the keys filtered
    on; records of an index written before (one key per field) still read back the same."""
    from assistant.index.vectors import unpack_chunk_meta

    indexer = Indexer(hash_settings)
    indexer.ingest([hash_settings.seeds_dir])
    store = indexer.store
    chunks = store.chunks.get(include=["metadatas", "embeddings"])
    assert chunks["ids"] and all({"row", "version"} <= set(m) <= {"row", "version", "date_int", "source_cf"}
                                 for m in chunks["metadatas"])
    records = store.articles.get(include=["metadatas"])["metadatas"]
    assert records and all(set(m) == {"entry", "root", "origin_file"} for m in records)
    docs = store.get_articles()
    cid, packed, vector = chunks["ids"][0], chunks["metadatas"][0], chunks["embeddings"][0]
    full = unpack_chunk_meta(packed)
    assert full["text"] and full["version"] == packed["version"] and full["date_int"] == packed.get("date_int", 0)
    # an older index: the same records with one metadata key per field
    entry = docs[full["doc_id"]]
    store.chunks.upsert(ids=[cid], metadatas=[full], embeddings=[vector])
    store.articles.upsert(ids=[entry.doc_id], metadatas=[{k: v for k, v in entry.__dict__.items() if v is not None}],
                          embeddings=[[1.0]])
    assert store.get_chunks([cid])[cid].meta == full
    assert store.get_articles(ids=[entry.doc_id])[entry.doc_id] == entry
    assert store.article_text(entry.doc_id) == indexer.catalog.article_text(entry.doc_id)
    # the packing before empty fields were left out (every field in ``entry``, and ``root`` always a key)
    every = json.dumps({k: v for k, v in entry.__dict__.items() if v is not None})
    store.articles.upsert(ids=[entry.doc_id], metadatas=[{"entry": every, "root": entry.root,
                                                          "origin_file": entry.origin_file}], embeddings=[[1.0]])
    assert store.get_articles(ids=[entry.doc_id])[entry.doc_id] == entry


def test_an_article_record_holds_no_empty_field_and_a_root_only_when_a_folder_brought_it(hash_settings):
    """A file named on its own is its own root: its record has no ``root`` key (a folder's re-scan finds
    its records by ``root``, never a file's), and reads back the same; empty fields are left out."""
    indexer = Indexer(hash_settings)
    one = sorted(hash_settings.seeds_dir.glob("*.txt"))[0]
    indexer.ingest([one])
    meta = indexer.store.articles.get(include=["metadatas"])["metadatas"][0]
    assert set(meta) == {"entry", "origin_file"} and meta["origin_file"] == str(one.resolve())
    assert '""' not in meta["entry"] and "origin_file" not in meta["entry"]
    entry = next(iter(indexer.store.get_articles().values()))
    assert entry.root == entry.origin_file == str(one.resolve()) and entry.date and entry.source and entry.chunks > 0
    indexer.ingest([hash_settings.seeds_dir])  # the same article through its folder: root is the folder
    again = indexer.store.get_articles(ids=[entry.doc_id])[entry.doc_id]
    assert again.root == str(hash_settings.seeds_dir.resolve()) and again.origin_file == entry.origin_file
    assert len(indexer.store.article_ids(where={"root": again.root})) == 5 and consistent(indexer)


@pytest.mark.parametrize("seconds, sizes", [(1e-9, [3, 3]), (1e9, [3, 12])])
def test_a_batch_grows_while_batches_commit_fast(hash_settings, monkeypatch, seconds, sizes):
    """Every commit costs a few fixed Chroma writes: while a batch commits in under BATCH_SECONDS the
    next one is bigger, up to BATCH_GROWTH times ASSISTANT_INGEST_BATCH chunks; a slow one stays."""
    from assistant.index.catalog import Catalog

    monkeypatch.setattr(indexer_module, "BATCH_SECONDS", seconds)
    real_commit, chunks = Catalog.commit, []

    def counting(self, put, remove, **kw):
        chunks.append(sum(e.chunks for e, _ in put))
        return real_commit(self, put, remove, **kw)

    monkeypatch.setattr(Catalog, "commit", counting)
    one_chunk = hash_settings.with_overrides(ingest_batch=3, chunk_tokens=400)
    folder = hash_settings.index_dir.parent / "many"
    folder.mkdir()
    for i in range(20):
        (folder / f"a{i:02d}.txt").write_text(f"Short article number {i} about the harbour bridge.")
    assert Indexer(one_chunk).ingest([folder]).ok
    assert chunks[:2] == sizes and sum(chunks) == 20 and max(chunks) <= 3 * indexer_module.BATCH_GROWTH


def test_keyword_index_appends_what_each_batch_changed_and_a_sync_rewrites_it(hash_settings):
    """A batch costs the keyword index's version list its own lines, not a rewrite of every version (at
    200,000 articles that rewrite made an ingest quadratic); a sync starts from the list, drops what
    it wrongly names (a killed writer's torn line) and rewrites it whole."""
    settings = hash_settings.with_overrides(ingest_batch=3)
    indexer = Indexer(settings)
    indexer.ingest([settings.seeds_dir])
    kw = indexer.keyword
    log = kw.folder / "versions.log"
    live = indexer.catalog.load().live
    lines = log.read_text().splitlines()
    assert len(lines) == len(live) and {line[1:] for line in lines} == live and all(x[0] == "+" for x in lines)
    gone = sorted(docs_of(indexer))[0]
    version = docs_of(indexer)[gone].version
    indexer.remove([gone])
    assert log.read_text().splitlines() == lines + [f"-{version}"]
    assert kw._read_versions() == indexer.catalog.load().live
    # a killed writer's torn line, and the state behind: the next sync drops the version nobody has
    with open(log, "a") as f:
        f.write("+0123")
    (kw.folder / "synced.json").write_text(json.dumps({"schema": SCHEMA_VERSION, "catalog_version": -1}))
    snap = indexer.catalog.load()
    assert kw.sync(snap.live, snap.version, indexer.store.chunks_of) == (0, 1)
    assert sorted(log.read_text().splitlines()) == sorted(f"+{v}" for v in snap.live)
    consistent(indexer)


def test_a_one_sentence_chunk_stores_no_copy_of_its_own_vector(hash_settings, tmp_path):
    """A one-sentence chunk's vector is its sentence's: Chroma keeps it once (long strings are what its
    writes cost most), and it reads back, for the keyword index too, as the sentence vector."""
    import numpy as np

    from assistant.index.vectors import OWN_VECTOR, unpack_chunk_meta

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "one.txt").write_text("The harbour bridge reopened on Monday after repairs.")
    (corpus / "two.txt").write_text("The harbour bridge reopened on Monday. Traffic was light all day.")
    settings = hash_settings.with_overrides(index_dir=tmp_path / "idx")
    indexer = Indexer(settings)
    indexer.ingest([corpus])
    docs, store = docs_of(indexer), indexer.store
    raw = store.chunks.get(include=["metadatas", "embeddings"])
    rows = {cid: json.loads(m["row"]) for cid, m in zip(raw["ids"], raw["metadatas"], strict=True)}
    one, two = docs["one.txt"].chunk_ids[0], docs["two.txt"].chunk_ids[0]
    assert rows[one]["sentence_vectors"] == OWN_VECTOR and len(rows[two]["sentence_vectors"]) > 100
    assert unpack_chunk_meta({"row": json.dumps(rows[one])})["sentence_vectors"] == ""  # no vector given: none
    written = indexer.keyword.rows([one])[one].sentence_vectors()  # as the writer gave it to the keyword index
    for cid in (one, two):
        from_chroma = store.get_chunks([cid])[cid].sentence_vectors()
        from_keyword = indexer.keyword.rows([cid])[cid].sentence_vectors()
        assert [(s, e) for s, e, _ in from_chroma] == [(s, e) for s, e, _ in from_keyword]
        assert all(np.allclose(a, b, atol=1e-3) for (_, _, a), (_, _, b) in zip(from_chroma, from_keyword, strict=True))
    # a keyword index that knows nothing re-reads every chunk from Chroma: the same vectors
    kw = indexer.keyword
    (kw.folder / "versions.log").write_text("")
    (kw.folder / "synced.json").write_text(json.dumps({"schema": SCHEMA_VERSION, "catalog_version": -1}))
    snap = indexer.catalog.load()
    assert kw.sync(snap.live, snap.version, store.chunks_of) == (2, 0)
    synced = kw.rows([one])[one].sentence_vectors()
    assert len(synced) == 1 and np.allclose(synced[0][2], written[0][2], atol=1e-3)


def test_a_keyword_search_hands_back_the_rows_it_read(hash_settings):
    """The retriever reads a keyword hit's row once: the search fills it in, the same as ``rows`` reads."""
    indexer = Indexer(hash_settings)
    indexer.ingest([hash_settings.seeds_dir])
    kw, rows = indexer.keyword, {}
    hits = kw.search("detainees transferred", 5, rows=rows)
    assert hits and set(rows) == {cid for cid, _ in hits}
    assert {cid: r.meta for cid, r in rows.items()} == {cid: r.meta for cid, r in kw.rows(rows).items()}
    rest: dict = {}
    more = kw.search("", 3, match_all=True, exclude=set(rows), rows=rest)
    assert len(more) == 3 and set(rest) == {cid for cid, _ in more} and not set(rest) & set(rows)
