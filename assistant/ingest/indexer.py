"""Incremental ingest and removal: files -> cleaned articles -> chunks -> Chroma (+ the keyword index).

Articles stream in (``loading.iter_load``) and are committed in bounded batches (at least
``ASSISTANT_INGEST_BATCH`` chunks; a batch grows, up to ``BATCH_GROWTH`` times that, while one commits
in under ``BATCH_SECONDS``: every commit costs a few fixed Chroma writes, which would otherwise be a
sixth of a fast embedder's ingest, and a kill still loses only seconds of work): each batch is
planned (new, changed, unchanged), its chunks' sentences embedded once (a chunk's vector is the mean
of its sentences' vectors, and the sentence vectors are stored with it, so no question ever embeds a
passage again), written to Chroma, then its article records are written (the commit: readers see
those articles whole from then on), then the chunks of the versions it replaced are deleted and the
keyword index follows. Memory holds one batch, whatever the size of the input file; a killed ingest
loses at most the batch in flight, and a re-run resumes (committed articles are unchanged, so they
cost nothing).

An article is re-embedded only when its content hash or the index fingerprint (chunker, cleaner and
embedder settings) changed. Files gone from a re-ingested folder are removed (only articles that came
through that folder), and records gone from a re-read JSON file once that file is done. A file that
fails to load keeps whatever it had indexed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.errors import IndexStateError
from assistant.index.catalog import Catalog
from assistant.index.layout import DocEntry, IndexDir, chunk_id
from assistant.ingest.chunking import CHUNKER_VERSION, Chunk, chunker_for
from assistant.ingest.cleaning import CLEANER_VERSION, date_to_int
from assistant.ingest.loading import JSON_SUFFIXES, Article, FileDone, LoadError, Scanned, iter_load
from assistant.ingest.memory import release_freed_memory
from assistant.settings import INGEST_BATCH_GROWTH, INGEST_BATCH_SECONDS, Settings
from assistant.text.sentences import sentence_spans

BATCH_SECONDS = INGEST_BATCH_SECONDS  # a batch grows while one commits faster than this ...
BATCH_GROWTH = INGEST_BATCH_GROWTH  # ... up to this many times ASSISTANT_INGEST_BATCH chunks
Progress = Callable[[int, int], None]  # (done, total) chunks embedded; the total grows as batches are read
VECTORS_VERSION = "sentence-mean-1"  # how chunk vectors are made: part of the fingerprint


def fingerprint(embedder_name: str, chunk_tokens: int, chunk_overlap: int, word_piece_limit: int) -> str:
    """Identifies everything that shapes chunks and vectors: change it and ingest re-embeds."""
    raw = json.dumps({"embedder": embedder_name, "chunk_tokens": chunk_tokens, "chunk_overlap": chunk_overlap,
                      "limit": word_piece_limit, "chunker": CHUNKER_VERSION, "cleaner": CLEANER_VERSION,
                      "vectors": VECTORS_VERSION}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    reindexed: list[str] = field(default_factory=list)  # unchanged text, re-embedded for new settings
    errors: list[LoadError] = field(default_factory=list)
    chunks_embedded: int = 0
    total_docs: int = 0
    total_chunks: int = 0
    seconds: float = 0.0
    stored: list[str] = field(default_factory=list)  # uploads only: files kept in the uploads folder
    cleaned_versions: int = 0  # article versions an earlier, unfinished writer had left behind, removed

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.unchanged)} unchanged",
                 f"{len(self.removed)} removed"]
        if self.reindexed:
            parts.append(f"{len(self.reindexed)} re-embedded for new settings")
        if self.errors:
            parts.append(f"{len(self.errors)} failed")
        return (", ".join(parts) + f"; {self.chunks_embedded} chunks embedded in {self.seconds:.1f}s; "
                f"index: {self.total_docs} articles, {self.total_chunks} chunks")

    def to_json(self) -> dict:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged, "removed": self.removed,
                "reindexed": self.reindexed, "errors": [str(e) for e in self.errors],
                "chunks_embedded": self.chunks_embedded, "total_docs": self.total_docs,
                "total_chunks": self.total_chunks, "seconds": round(self.seconds, 3)}


@dataclass
class _Planned:
    """An article of the batch waiting to be written: its new record and, when it must be embedded,
    its chunks."""

    entry: DocEntry
    text: str
    chunks: list[Chunk] | None  # None: unchanged text, only its record is rewritten (a moved file)
    old: DocEntry | None
    kind: str  # added | updated | reindexed | unchanged


class Indexer:
    """Writes one corpus (an index folder, or a corpus in a Chroma server). Every public method holds
    the writer lock (or lease) while it works."""

    def __init__(self, settings: Settings, embedder=None, lock_timeout: float = 600.0):
        from assistant.models.embedders import get_embedder

        self.settings = settings
        self.embedder = embedder or get_embedder(settings.embedder)
        self.index = IndexDir(settings.index_dir)
        self.chunker = chunker_for(settings, self.embedder)
        self.fingerprint = fingerprint(self.embedder.name, settings.chunk_tokens, settings.chunk_overlap,
                                       self.embedder.counter.limit)
        self.lock_timeout = lock_timeout
        self.batch_chunks = max(1, settings.ingest_batch)
        self._store = self._catalog = self._keyword = None

    # ------------------------------------------------------------------ the stores
    @property
    def store(self):
        if self._store is None:
            from assistant.index.vectors import open_store

            self._migrate_legacy()
            self._store = open_store(self.settings, self.embedder)
        return self._store

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog(self.index, self.store)
        return self._catalog

    @property
    def keyword(self):
        if self._keyword is None:
            from assistant.index.keyword import open_keyword_index

            self._keyword = open_keyword_index(self.index.keyword_dir)
        return self._keyword

    def _migrate_legacy(self) -> None:
        """An index folder of the earlier format (manifest.json, keyword generations, article files) is
        rebuilt: its files go, the articles are ingested again."""
        if not self.index.legacy_manifest.exists():
            return
        print(f"{self.index.path}: rebuilding an index of an earlier format", file=sys.stderr)
        for name in ("chroma", "keyword", "articles"):
            shutil.rmtree(self.index.path / name, ignore_errors=True)
        self.index.legacy_manifest.unlink()

    # ------------------------------------------------------------------ public
    def ingest(self, paths: Iterable[Path | str], progress: Progress | None = None) -> IngestReport:
        t0 = time.perf_counter()
        report = IngestReport()
        with self.catalog.writer(self.lock_timeout), self._keyword_released():
            self._before(report)
            run = _Run(self, report, progress)
            for event in self._events(paths):
                run.take(event)
            run.finish()
            if self._settings_changed:
                self._reembed_rest(run, report, progress)
            self._after(report)
        report.seconds = time.perf_counter() - t0
        return report

    def _events(self, paths: Iterable):
        """What the inputs hold, one event at a time: files and folders (``loading.iter_load``), web pages
        (http(s) URLs) and feeds (``web.Feed``)."""
        from assistant.ingest import web

        paths = list(paths)
        remote = [p for p in paths if isinstance(p, web.Feed | web.Pasted) or web.is_url(str(p))]
        local = [p for p in paths if p not in remote]
        max_bytes = int(self.settings.max_upload_mb * 2**20)
        yield from iter_load(local, max_bytes=max_bytes, max_records=self.settings.max_records_per_file)
        fetcher = web.Fetcher(self.settings.fetch_timeout, max_bytes)
        for p in remote:
            if isinstance(p, web.Feed):
                yield from web.iter_feed(p.url, fetcher)
            elif isinstance(p, web.Pasted):
                yield from web.iter_source(p.url, fetcher)
            else:
                yield from web.iter_page(str(p), fetcher)

    def remove(self, doc_ids: Iterable[str]) -> IngestReport:
        t0 = time.perf_counter()
        report = IngestReport()
        doc_ids = list(dict.fromkeys(doc_ids))
        with self.catalog.writer(self.lock_timeout), self._keyword_released():
            self._before(report)  # a killed earlier remove is finished here, before "not in the index"
            entries = self.store.get_articles(ids=doc_ids)
            missing = [d for d in doc_ids if d not in entries]
            if missing:
                self._after(report)
                raise IndexStateError(f"not in the index: {', '.join(missing)} (see `assistant list`)")
            self._commit_removals(list(entries.values()), report)
            self._after(report)
        report.seconds = time.perf_counter() - t0
        return report

    @contextlib.contextmanager
    def _keyword_released(self):
        """The keyword index's writer is let go whatever happens (another process may need it)."""
        try:
            yield
        finally:
            if self._keyword is not None:
                self._keyword.release(merge=False)

    # ------------------------------------------------------------------ stages
    def _before(self, report: IngestReport) -> None:
        """Under the lock: what an unfinished writer left is gone (``Catalog.writer`` did that); the
        catalog's settings say whether everything must be re-embedded; the keyword index is in step."""
        report.cleaned_versions = len(self.catalog.recovered)
        record = self.catalog.settings_record()
        self._catalog_version = int(record.get("version", 0))
        self._settings_changed = bool(record) and record.get("fingerprint") != self.fingerprint
        self._keyword_in_step()

    def _after(self, report: IngestReport) -> None:
        self._keyword_in_step()
        self.keyword.release()
        report.total_docs = self.store.article_count()
        report.total_chunks = self.store.chunk_count()

    def _keyword_in_step(self) -> None:
        """The keyword index holds exactly the committed articles' chunks: kept so batch by batch
        (``KeywordIndex.update``), synced in full only when it is behind (a killed writer, a copy)."""
        if self.keyword.catalog_version != self._catalog_version:
            snap = self.catalog.load()
            self.keyword.sync(lambda: snap.live, snap.version, self.store.chunks_of)

    def commit_batch(self, planned: list[_Planned], report: IngestReport, progress: Progress | None) -> None:
        """One batch: embed and write the chunks, commit the article records, drop replaced chunks."""
        if not planned:
            return
        embed = [p for p in planned if p.chunks is not None]
        new_versions = [p.entry.version for p in embed]
        old_versions = [p.old.version for p in embed if p.old and p.old.version != p.entry.version]
        self.catalog.begin(new_versions + old_versions, [p.entry.doc_id for p in planned])
        rows = self._write_chunks(embed, progress, report) if embed else []
        stale = [p.entry.doc_id for p in planned if p.entry.text_in_chunks and p.old and not p.old.text_in_chunks]
        self._catalog_version = self.catalog.commit([(p.entry, p.text) for p in planned], [], stale_texts=stale,
                                                    fingerprint=self.fingerprint, embedder=self.embedder.name)
        if old_versions:
            self.store.delete_versions(old_versions)
        self.keyword.update(new_versions, old_versions, self._catalog_version, lambda versions: rows)
        self.catalog.end()
        for p in planned:
            getattr(report, p.kind).append(p.entry.doc_id)
        release_freed_memory()  # memory.py: the batch's freed heap back to the system

    def _commit_removals(self, entries: list[DocEntry], report: IngestReport) -> None:
        if not entries:
            return
        versions = [e.version for e in entries]
        self.catalog.begin(versions, [e.doc_id for e in entries])
        self._catalog_version = self.catalog.commit([], [e.doc_id for e in entries], fingerprint=self.fingerprint,
                                                    embedder=self.embedder.name)
        self.store.delete_versions(versions)
        self.keyword.update([], versions, self._catalog_version, self.store.chunks_of)
        self.catalog.end()
        report.removed += sorted(e.doc_id for e in entries)

    def _write_chunks(self, planned: list[_Planned], progress: Progress | None, report: IngestReport) -> list:
        """Embed every sentence of the batch's chunks once (titles too), store each chunk with the mean
        of its sentences' vectors as its vector and the sentence vectors themselves; the rows written."""
        from assistant.index.vectors import ChunkRow, pack_sentences

        rows = []  # (entry, chunk, spans, sentence texts)
        for p in planned:
            for c in p.chunks:
                spans = sentence_spans(c.text) or [(0, len(c.text))]
                rows.append((p.entry, c, spans, [c.text[s:e] for s, e in spans]))
        texts = list(dict.fromkeys([t for _, _, _, ts in rows for t in ts]
                                   + [p.entry.title.strip() for p in planned if p.entry.title.strip()]))
        vectors = self._embed(texts, progress, total_chunks=len(rows), before=report.chunks_embedded)
        at = {t: i for i, t in enumerate(texts)}
        ids, chunk_vectors, metas = [], [], []
        for entry, c, spans, sents in rows:
            own = vectors[[at[t] for t in sents]]
            parts = own if not entry.title.strip() else np.vstack([vectors[at[entry.title.strip()]], own])
            mean = parts.mean(axis=0)
            chunk_vectors.append(mean / (np.linalg.norm(mean) or 1.0))
            cid = chunk_id(entry.version, c.index)
            ids.append(cid)
            metas.append({**chunk_metadata(entry, c, cid), "text": c.text, **pack_sentences(spans, own)})
        self.store.add_chunks(ids, chunk_vectors, metas)
        report.chunks_embedded += len(ids)
        return [ChunkRow(cid, meta) for cid, meta in zip(ids, metas, strict=True)]

    def _embed(self, texts: list[str], progress: Progress | None, total_chunks: int, before: int) -> np.ndarray:
        """The texts' vectors; ``progress(done, total)`` in chunks, counted over the whole ingest
        (``before``: chunks embedded by earlier batches; the total grows batch by batch)."""
        from assistant.models.embedders import embed_array

        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        # shortest first over the whole batch, so each of the model's batches pads to similar lengths
        # (sentence-transformers sorts only within one call), in steps that keep progress coming
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        parts = []
        step = 128
        for i in range(0, len(texts), step):
            parts.append(embed_array(self.embedder, [texts[j] for j in order[i:i + step]]))
            if progress:
                progress(before + round(total_chunks * min(i + step, len(texts)) / len(texts)), before + total_chunks)
        in_order = np.vstack(parts)
        out = np.empty_like(in_order)
        out[order] = in_order  # back to the texts' order
        return out

    def _reembed_rest(self, run: _Run, report: IngestReport, progress: Progress | None) -> None:
        """New chunker or embedder settings: every article not just re-read is re-embedded from its
        stored text, batch by batch."""
        entries = [e for e in self.store.get_articles().values() if e.doc_id not in run.touched]
        for i in range(0, len(entries), 64):
            batch = entries[i:i + 64]
            texts = self.store.article_texts([e.doc_id for e in batch])
            planned = []
            for old in batch:
                text = texts.get(old.doc_id, "")
                entry = DocEntry(**{**old.__dict__})
                entry.version = self.version_of(entry.doc_id, entry.content_hash)
                chunks = self.chunker.split(text, entry.title)
                entry.chunks = len(chunks)
                entry.text_in_chunks = covers(chunks, text)
                planned.append(_Planned(entry, text, chunks, old, "reindexed"))
            self.commit_batch(planned, report, progress)

    def version_of(self, doc_id: str, content_hash: str) -> str:
        return hashlib.sha256(f"{doc_id}\x00{content_hash}\x00{self.fingerprint}".encode()).hexdigest()[:16]


class _Run:
    """One ingest's pass over its inputs: articles gathered into batches of about ``batch_chunks``
    chunks and committed; removals once a file (records gone) or a folder (files gone) is done."""

    def __init__(self, indexer: Indexer, report: IngestReport, progress: Progress | None):
        self.ix = indexer
        self.report = report
        self.progress = progress
        self.batch: list[Article] = []
        self.batch_chunks = 0
        self.target = indexer.batch_chunks  # chunks per batch, grown while batches commit fast
        self.chunked: dict[str, list[Chunk]] = {}
        self.scanned: dict[str, Scanned] = {}
        self.touched: set[str] = set()  # doc_ids this run read from its inputs

    def take(self, event) -> None:
        if isinstance(event, Article):
            chunks = self.ix.chunker.split(event.text, event.title)
            self.chunked[event.doc_id] = chunks
            self.batch.append(event)
            self.batch_chunks += len(chunks)
            self.touched.add(event.doc_id)
            if self.batch_chunks >= self.target:
                self.flush()
        elif isinstance(event, LoadError):
            self.report.errors.append(event)
        elif isinstance(event, Scanned):
            self.scanned[event.root] = event
        elif isinstance(event, FileDone):
            if not event.failed and Path(event.path).suffix.lower() in JSON_SUFFIXES:
                self.flush()  # the file's records are committed before those gone from it are removed
                self._remove_gone_records(event)

    def finish(self) -> None:
        self.flush()
        for root, scan in self.scanned.items():
            if scan.files == {root}:
                continue  # one file named on its own: its articles' file is there (records gone: FileDone)
            gone = [e for e in self.ix.store.iter_articles(where={"root": root})
                    if scan.lost(e.origin_file) and e.doc_id not in self.touched]
            self.ix._commit_removals(gone, self.report)

    def _remove_gone_records(self, event: FileDone) -> None:
        gone = [d for d in self.ix.store.article_ids(where={"origin_file": event.path}) if d not in event.doc_ids]
        self.ix._commit_removals(list(self.ix.store.get_articles(ids=gone).values()), self.report)

    def flush(self) -> None:
        if not self.batch:
            return
        arts, chunks, self.batch, self.batch_chunks = self.batch, self.batch_chunks, [], 0
        t0 = time.perf_counter()
        existing = self.ix.store.get_articles(ids=[a.doc_id for a in arts])
        planned = [p for p in (self._plan(a, existing.get(a.doc_id)) for a in arts) if p is not None]
        self.chunked.clear()
        self.ix.commit_batch([p for p in planned if p.kind != "unchanged" or p.entry != p.old], self.report,
                             self.progress)
        self.report.unchanged += [p.entry.doc_id for p in planned if p.kind == "unchanged" and p.entry == p.old]
        if chunks >= self.target:  # a full batch: the next one sized to take about BATCH_SECONDS
            seconds = max(time.perf_counter() - t0, 1e-3)
            self.target = min(max(int(self.target * BATCH_SECONDS / seconds), self.ix.batch_chunks),
                              self.ix.batch_chunks * BATCH_GROWTH)

    def _plan(self, art: Article, old: DocEntry | None) -> _Planned | None:
        ix = self.ix
        if old and old.origin_file != art.origin_file and old.content_hash != art.content_hash \
                and Path(old.origin_file).exists():
            self.report.errors.append(LoadError(art.origin_file, f"doc_id {art.doc_id!r} is already indexed from "
                                                f"{old.origin_file}; two articles cannot share a doc_id "
                                                f"(rename the file or `assistant remove {art.doc_id}` first)"))
            return None
        chunks = self.chunked[art.doc_id]
        entry = DocEntry(doc_id=art.doc_id, title=art.title, date=art.date, source=art.source, url=art.url,
                         dateline=art.dateline, content_hash=art.content_hash, origin_file=art.origin_file,
                         root=art.root, version=ix.version_of(art.doc_id, art.content_hash), chunks=len(chunks),
                         text_in_chunks=covers(chunks, art.text), author=art.author, extractor=art.extractor)
        if old and old.version == entry.version:
            return _Planned(entry, art.text, None, old, "unchanged")
        kind = "added" if not old else ("reindexed" if old.content_hash == art.content_hash else "updated")
        return _Planned(entry, art.text, chunks, old, kind)


def covers(chunks: list[Chunk], text: str) -> bool:
    """The chunks put together give back the whole text (so it needs no record of its own)."""
    from assistant.index.vectors import text_from_chunks

    return text_from_chunks([(c.start, c.end, c.text) for c in chunks]) == text


def doc_metadata(entry: DocEntry) -> dict:
    return {"doc_id": entry.doc_id, "title": entry.title, "date": entry.date or "", "date_int": date_to_int(entry.date),
            "source": entry.source, "source_cf": entry.source.casefold(), "url": entry.url, "dateline": entry.dateline,
            "version": entry.version}


def chunk_metadata(entry: DocEntry, chunk: Chunk, cid: str) -> dict:
    return {**doc_metadata(entry), "chunk_id": cid, "chunk_index": chunk.index, "start": chunk.start,
            "end": chunk.end}
