"""Incremental ingest and removal: files -> cleaned articles -> chunks -> Chroma + BM25.

A document is re-embedded only when its content hash or the index fingerprint (chunker and
embedder settings) changed. Files gone from a re-ingested folder are removed (only documents
that came through that folder). A file that fails to load keeps whatever it had indexed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import IndexStateError
from assistant.index.keyword import KeywordIndex
from assistant.index.layout import DocEntry, IndexDir, Manifest
from assistant.ingest.chunking import CHUNKER_VERSION, Chunk, chunker_for, embedding_prefix
from assistant.ingest.cleaning import CLEANER_VERSION, date_to_int
from assistant.ingest.loading import Article, LoadError, load_paths
from assistant.settings import Settings

Progress = Callable[[int, int], None]  # (done, total) chunks embedded


def fingerprint(embedder_name: str, chunk_tokens: int, chunk_overlap: int, word_piece_limit: int) -> str:
    """Identifies everything that shapes chunks and vectors: change it and ingest re-embeds."""
    raw = json.dumps({"embedder": embedder_name, "chunk_tokens": chunk_tokens, "chunk_overlap": chunk_overlap,
                      "limit": word_piece_limit, "chunker": CHUNKER_VERSION, "cleaner": CLEANER_VERSION},
                     sort_keys=True)
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


class Indexer:
    """Writes one index folder. Every public method takes the writer lock."""

    def __init__(self, settings: Settings, embedder=None, lock_timeout: float = 600.0):
        from assistant.models.embedders import get_embedder

        self.settings = settings
        self.embedder = embedder or get_embedder(settings.embedder)
        self.index = IndexDir(settings.index_dir)
        self.chunker = chunker_for(settings, self.embedder)
        self.fingerprint = fingerprint(self.embedder.name, settings.chunk_tokens, settings.chunk_overlap,
                                       self.embedder.counter.limit)
        self.lock_timeout = lock_timeout
        self._store = None

    @property
    def store(self):
        if self._store is None:
            from assistant.index.vectors import VectorStore

            self._store = VectorStore(self.index.path, self.embedder, self.settings.chroma_url)
        return self._store

    def _lock(self):
        from filelock import FileLock, Timeout

        self.index.path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.index.lock_path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            print(f"waiting for another writer to release {self.index.lock_path} ...", file=sys.stderr)
            try:
                lock.acquire(timeout=self.lock_timeout)
            except Timeout:
                raise IndexStateError(f"{self.index.lock_path}: another ingest is still running") from None
        return lock

    # ------------------------------------------------------------------ public
    def ingest(self, paths: Iterable[Path | str], progress: Progress | None = None) -> IngestReport:
        t0 = time.perf_counter()
        loaded = load_paths(paths, max_bytes=int(self.settings.max_upload_mb * 2**20))
        lock = self._lock()
        try:
            report = self._apply(loaded.articles, loaded, remove_ids=set(), progress=progress)
        finally:
            lock.release()
        report.errors = loaded.errors + report.errors
        report.seconds = time.perf_counter() - t0
        return report

    def remove(self, doc_ids: Iterable[str]) -> IngestReport:
        t0 = time.perf_counter()
        lock = self._lock()
        try:
            manifest = self.index.read_manifest()
            missing = [d for d in doc_ids if d not in manifest.docs]
            if missing:
                raise IndexStateError(f"not in the index: {', '.join(missing)} (see `assistant list`)")
            report = self._apply([], None, remove_ids=set(doc_ids), progress=None)
        finally:
            lock.release()
        report.seconds = time.perf_counter() - t0
        return report

    # ------------------------------------------------------------------ the work
    def _apply(self, articles: list[Article], loaded, remove_ids: set[str], progress: Progress | None) -> IngestReport:
        """The stages of one corpus change: plan, embed the new chunks into Chroma, write the keyword
        index's new generation, switch the manifest (readers move over at once), clean up."""
        report = IngestReport()
        manifest = self.index.read_manifest()
        old_docs = dict(manifest.docs)
        new_docs, to_embed = self._plan(articles, loaded, remove_ids, manifest, report)
        changed = bool(to_embed or report.removed) or any(
            old_docs[d].to_json() != new_docs[d].to_json() for d in report.unchanged)
        if not changed and manifest.generation:
            report.total_docs = len(new_docs)
            report.total_chunks = sum(len(e.chunk_ids) for e in new_docs.values())
            return report
        new_chunks = self._embed(to_embed, progress, report)
        generation = self._write_keyword_generation(new_docs, new_chunks, manifest.generation)
        self.index.write_manifest(Manifest(fingerprint=self.fingerprint, embedder=self.embedder.name,
                                           generation=generation, docs=new_docs))
        live = self._clean_up(new_docs, keep_generations={generation, manifest.generation})
        report.total_docs = len(new_docs)
        report.total_chunks = len(live)
        return report

    def _plan(self, articles: list[Article], loaded, remove_ids: set[str], manifest: Manifest,
              report: IngestReport) -> tuple[dict[str, DocEntry], list[tuple[DocEntry, str]]]:
        """The documents of the new generation and the (entry, cleaned text) pairs to embed; fills the
        report's added / updated / unchanged / re-embedded / removed lists and its errors."""
        old_docs = dict(manifest.docs)
        settings_changed = bool(old_docs) and manifest.fingerprint != self.fingerprint
        new_docs = dict(old_docs)
        to_embed: list[tuple[DocEntry, str]] = []  # (entry, cleaned text)

        for art in articles:
            old = old_docs.get(art.doc_id)
            if old and old.origin_file != art.origin_file and old.content_hash != art.content_hash \
                    and Path(old.origin_file).exists():
                report.errors.append(LoadError(art.origin_file, f"doc_id {art.doc_id!r} is already indexed from "
                                               f"{old.origin_file}; two articles cannot share a doc_id "
                                               f"(rename the file or `assistant remove {art.doc_id}` first)"))
                continue
            entry = DocEntry(doc_id=art.doc_id, title=art.title, date=art.date, source=art.source, url=art.url,
                             dateline=art.dateline, content_hash=art.content_hash, origin_file=art.origin_file,
                             root=art.root, article_file=self.index.article_key(art.doc_id, art.content_hash))
            if old and old.content_hash == art.content_hash and not settings_changed:
                entry.chunk_ids = old.chunk_ids
                new_docs[art.doc_id] = entry
                report.unchanged.append(art.doc_id)
                continue
            self.index.write_article(entry.article_file, {**art.metadata(), "text": art.text,
                                                          "content_hash": art.content_hash})
            new_docs[art.doc_id] = entry
            to_embed.append((entry, art.text))
            if not old:
                report.added.append(art.doc_id)
            elif old.content_hash == art.content_hash:  # same text, new chunker/embedder settings
                report.reindexed.append(art.doc_id)
            else:
                report.updated.append(art.doc_id)

        # removals: documents of a re-scanned folder whose file is gone, records gone from a
        # file that loaded cleanly, and explicit `remove`
        if loaded is not None:
            seen = {a.doc_id for a in articles}
            loaded_files = {a.origin_file for a in articles} - loaded.failed_files
            for doc_id, entry in old_docs.items():
                if doc_id in seen:
                    continue
                gone_from_root = entry.root in loaded.scanned and entry.origin_file not in loaded.scanned[entry.root]
                gone_from_file = entry.origin_file in loaded_files
                if gone_from_root or gone_from_file:
                    remove_ids.add(doc_id)
        for doc_id in sorted(remove_ids):
            if new_docs.pop(doc_id, None) is not None:
                report.removed.append(doc_id)

        if settings_changed:  # a new embedder or chunker: everything else is re-embedded from stored text
            fresh = {e.doc_id for e, _ in to_embed}
            for doc_id, entry in new_docs.items():
                if doc_id not in fresh:
                    to_embed.append((entry, self.index.read_article(entry.article_file)["text"]))
                    report.reindexed.append(doc_id)
                    if doc_id in report.unchanged:
                        report.unchanged.remove(doc_id)
        return new_docs, to_embed

    def _embed(self, to_embed: list[tuple[DocEntry, str]], progress: Progress | None,
               report: IngestReport) -> dict[str, tuple[list[str], list[str], list[dict]]]:
        """Chunk and embed the new texts into Chroma (invisible to readers until the manifest lists
        them); each entry gets its chunk ids. Returns doc_id -> (chunk texts, ids, metadata)."""
        new_chunks: dict[str, tuple[list[str], list[str], list[dict]]] = {}
        all_ids, all_texts, all_metas = [], [], []
        for entry, text in to_embed:
            chunks = self.chunker.split(text, entry.title)
            ids = [self._chunk_id(entry, c) for c in chunks]
            metas = [chunk_metadata(entry, c, cid) for c, cid in zip(chunks, ids, strict=False)]
            entry.chunk_ids = ids
            new_chunks[entry.doc_id] = ([c.text for c in chunks], ids, metas)
            prefix = embedding_prefix(entry.title)
            all_ids += ids
            all_texts += [prefix + c.text for c in chunks]
            all_metas += metas
        if all_ids:
            vectors = []
            batch = 64
            for i in range(0, len(all_texts), batch):
                vectors += self.embedder.embed_documents(all_texts[i:i + batch])
                if progress:
                    progress(min(i + batch, len(all_texts)), len(all_texts))
            self.store.add(all_ids, [m["text"] for m in all_metas], [_strip_text(m) for m in all_metas], vectors)
            report.chunks_embedded = len(all_ids)
        return new_chunks

    def _write_keyword_generation(self, new_docs: dict[str, DocEntry], new_chunks, old_generation: str) -> str:
        """The keyword index of the new generation (kept chunks from the old table + the new ones),
        saved in a folder of its own; returns its name."""
        old_table = self._load_keyword(old_generation)
        rows: list[tuple[str, str, dict]] = []
        for doc_id in sorted(new_docs):
            entry = new_docs[doc_id]
            if doc_id in new_chunks:
                _texts, ids, metas = new_chunks[doc_id]
                rows += [(cid, m["text"], _strip_text(m)) for cid, m in zip(ids, metas, strict=False)]
            else:
                for cid in entry.chunk_ids:
                    pos = old_table.position[cid]
                    meta = dict(old_table.metas[pos])
                    meta.update(doc_metadata(entry))  # a moved file keeps its chunks but not stale metadata
                    rows.append((cid, old_table.texts[pos], meta))
        generation = f"g{time.time_ns()}"
        keyword = KeywordIndex([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        keyword.save(self.index.keyword_dir / generation)
        return generation

    def _clean_up(self, new_docs: dict[str, DocEntry], keep_generations: set[str]) -> set[str]:
        """Delete what no reader can reach any more: chunks no document lists, keyword generations
        other than the new and the previous one (readers mid-load), stored texts of gone articles.
        Returns the live chunk ids."""
        live = {cid for e in new_docs.values() for cid in e.chunk_ids}
        stale = self.store.ids() - live
        if stale:
            self.store.delete(sorted(stale))
        for folder in self.index.keyword_dir.iterdir():
            if folder.name not in keep_generations:
                shutil.rmtree(folder, ignore_errors=True)
        live_articles = {e.article_file for e in new_docs.values()}
        for f in self.index.articles_dir.glob("*.json") if self.index.articles_dir.exists() else []:
            if f.name not in live_articles:
                f.unlink(missing_ok=True)
        return live

    def _chunk_id(self, entry: DocEntry, chunk: Chunk) -> str:
        h = hashlib.sha256(f"{entry.doc_id}\x00{entry.content_hash}\x00{self.fingerprint}".encode()).hexdigest()[:16]
        return f"{h}-{chunk.index:04d}"

    def _load_keyword(self, generation: str) -> KeywordIndex:
        if not generation:
            return KeywordIndex([], [], [])
        folder = self.index.keyword_dir / generation
        if not folder.exists():
            raise IndexStateError(f"{folder}: keyword index missing; delete {self.index.path} and ingest again")
        return KeywordIndex.load(folder)


def doc_metadata(entry: DocEntry) -> dict:
    return {"doc_id": entry.doc_id, "title": entry.title, "date": entry.date or "", "date_int": date_to_int(entry.date),
            "source": entry.source, "url": entry.url, "dateline": entry.dateline}


def chunk_metadata(entry: DocEntry, chunk: Chunk, chunk_id: str) -> dict:
    return {**doc_metadata(entry), "chunk_id": chunk_id, "chunk_index": chunk.index, "start": chunk.start,
            "end": chunk.end, "text": chunk.text}


def _strip_text(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if k != "text"}
