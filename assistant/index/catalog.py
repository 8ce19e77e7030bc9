"""What the corpus holds, for readers as one snapshot, for writers one at a time.

The truth is Chroma's article records (``vectors.ChromaStore``): a chunk belongs to the corpus while
an article record lists its version. A writer adds an article's chunks first, then writes its
record (the commit: readers see the article whole from then on), then deletes the chunks of the
versions it replaced. Before it adds anything it writes down, in the catalog's ``pending`` record,
every version it will add or replace; the next writer deletes the chunks of those that no record
lists (a writer killed at any point leaves only such orphans, and they never outlive the next ingest
or remove).

One writer at a time: with the embedded store a file lock in the index folder; with a Chroma server
a lease kept in the server (``lock`` record, renewed while the writer works, taken over once it
expires, so a dead writer blocks others for at most ``LEASE_SECONDS``).

Readers notice a commit through a stamp: the ``catalog.stamp`` file of the embedded store (a file
read per query), or the catalog record of a server (read at most every ``refresh_seconds``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence

from assistant.errors import IndexStateError
from assistant.index.layout import DocEntry, IndexDir
from assistant.index.vectors import ChromaStore

LEASE_SECONDS = 30.0
PROCESS = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"  # this process, as a writer


class Snapshot:
    """The corpus as of one commit of the catalog. Its settings are read at once; the article records
    only when asked for (``docs``, for listings and full keyword syncs): a question reads none of them
    (the keyword index holds the live chunks), so its cost does not grow with the corpus."""

    def __init__(self, store: ChromaStore, version: int = 0, fingerprint: str = "", embedder: str = "",
                 docs: dict[str, DocEntry] | None = None, articles: int | None = None):
        self.store = store
        self.version = version
        self.fingerprint = fingerprint
        self.embedder = embedder
        self._docs = docs
        self._articles = articles
        self._lock = threading.Lock()

    @property
    def docs(self) -> dict[str, DocEntry]:
        with self._lock:
            if self._docs is None:
                self._docs = self.store.get_articles() if self.version else {}
            return self._docs

    @property
    def empty(self) -> bool:
        if self._docs is not None:
            return not self._docs
        if self._articles is None:
            self._articles = self.store.article_count() if self.version else 0
        return self._articles == 0

    @property
    def live(self) -> frozenset[str]:
        """The article versions whose chunks are part of the corpus (reads every record)."""
        return frozenset(e.version for e in self.docs.values())

    @property
    def chunk_count(self) -> int:
        return sum(e.chunks for e in self.docs.values())

    def article_rows(self) -> list[dict]:
        """The indexed articles, by doc_id: what `assistant list` and the UI's corpus panel show."""
        return [{"doc_id": d.doc_id, "title": d.title, "date": d.date, "source": d.source, "url": d.url,
                 "chunks": d.chunks, "origin_file": d.origin_file, "extractor": d.extractor, "author": d.author}
                for d in sorted(self.docs.values(), key=lambda d: d.doc_id)]


class Catalog:
    @classmethod
    def open(cls, settings, embedder=None) -> Catalog:
        """The catalog of the settings' corpus (the embedder is only named here, never loaded)."""
        from assistant.index.vectors import open_store
        from assistant.models.embedders import get_embedder

        return cls(IndexDir(settings.index_dir), open_store(settings, embedder or get_embedder(settings.embedder)))

    def __init__(self, index: IndexDir, store: ChromaStore, refresh_seconds: float = 1.0):
        self.index = index
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._snapshot: Snapshot | None = None
        self._stamp: str | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self.recovered: list[str] = []  # versions the last ``writer()`` found left behind, removed

    # ------------------------------------------------------------------ readers
    def stamp(self) -> str:
        """Changes with every commit. A file read for the embedded store; for a server, its catalog
        record, read at most every ``refresh_seconds``."""
        if not self.store.is_server:
            return self.index.read_stamp()
        now = time.monotonic()
        if self._stamp is not None and now - self._checked < self.refresh_seconds:
            return self._stamp
        self._checked = now
        rec = self.store.get_record("catalog") or {}
        return f"{rec.get('version', 0)} {rec.get('writer', '')}"

    def snapshot(self) -> Snapshot:
        """The corpus as of the last commit (reloaded when the stamp changed)."""
        with self._lock:
            stamp = self.stamp()
            if self._snapshot is not None and stamp == self._stamp:
                return self._snapshot
            if (self._snapshot is not None and not self.store.is_server and PROCESS not in stamp
                    and stamp != self.store.connected_at):
                self.store.reopen()  # another process wrote: see its vectors too
            self._snapshot = self.load()
            self._stamp = stamp
            return self._snapshot

    def load(self) -> Snapshot:
        self._check_format()
        rec = self.store.get_record("catalog") or {}
        return Snapshot(self.store, version=int(rec.get("version", 0)), fingerprint=rec.get("fingerprint", ""),
                        embedder=rec.get("embedder", ""))

    def _check_format(self) -> None:
        if self.index.legacy_manifest.exists():
            raise IndexStateError(f"{self.index.path}: written by an earlier version of the assistant; run "
                                  "`assistant ingest` to rebuild it (or delete the folder)")

    def article_text(self, doc_id: str) -> str | None:
        return self.store.article_text(doc_id)

    # ------------------------------------------------------------------ the writer
    @contextlib.contextmanager
    def writer(self, timeout: float = 600.0) -> Iterator[None]:
        """Hold the corpus for writing: the folder's file lock (embedded store) or the server's
        lease. On entry, what a killed writer left behind is removed."""
        with self._file_lock(timeout) if not self.store.is_server else self._lease(timeout):
            stamp = self.index.read_stamp() if not self.store.is_server else ""
            if stamp and PROCESS not in stamp and stamp != self.store.connected_at:
                self.store.reopen()  # another process wrote since this one connected
            self.recovered = self.recover()
            yield

    @contextlib.contextmanager
    def _file_lock(self, timeout: float) -> Iterator[None]:
        from filelock import FileLock, Timeout

        self.index.path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.index.lock_path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            print(f"waiting for another writer to release {self.index.lock_path} ...", file=sys.stderr)
            try:
                lock.acquire(timeout=timeout)
            except Timeout:
                raise IndexStateError(f"{self.index.lock_path}: another ingest is still running") from None
        try:
            yield
        finally:
            lock.release()

    @contextlib.contextmanager
    def _lease(self, timeout: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout
        said = False
        while True:
            rec = self.store.get_record("lock")
            if not rec or rec.get("expires", 0) < time.time() or rec.get("owner") == PROCESS:
                self.store.put_record("lock", {"owner": PROCESS, "expires": time.time() + LEASE_SECONDS})
                time.sleep(0.1)  # a writer racing for the same lease has written by now: the last one wins
                rec = self.store.get_record("lock")
                if rec and rec.get("owner") == PROCESS:
                    break
            if time.monotonic() > deadline:
                raise IndexStateError(f"Chroma corpus {self.store.corpus!r}: another writer ({rec.get('owner')}) "
                                      "holds it")
            if not said:
                print(f"waiting for another writer ({rec.get('owner')}) to finish ...", file=sys.stderr)
                said = True
            time.sleep(0.5)
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(LEASE_SECONDS / 3):
                self.store.put_record("lock", {"owner": PROCESS, "expires": time.time() + LEASE_SECONDS})

        keeper = threading.Thread(target=renew, name="catalog-lease", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            stop.set()
            keeper.join()
            rec = self.store.get_record("lock")
            if rec and rec.get("owner") == PROCESS:
                self.store.delete_record("lock")

    def settings_record(self) -> dict:
        return self.store.get_record("catalog") or {}

    def begin(self, versions: Sequence[str], doc_ids: Sequence[str]) -> None:
        """Write down the versions about to be added or replaced, and whose (before any chunk is added)."""
        rec = self.store.get_record("pending") or {"versions": [], "docs": []}
        rec["versions"] = sorted(set(rec["versions"]) | set(versions))
        rec["docs"] = sorted(set(rec["docs"]) | set(doc_ids))
        self.store.put_record("pending", rec)

    def commit(self, put: Sequence[tuple[DocEntry, str]], remove: Sequence[str], *, fingerprint: str,
               embedder: str, stale_texts: Sequence[str] = ()) -> int:
        """Make the written chunks part of the corpus: the articles' records are written (or deleted),
        then the catalog's version moves on and readers reload. Returns the new version."""
        if put:
            self.store.put_articles([e for e, _ in put], [t for _, t in put], stale_texts)
        if remove:
            self.store.delete_articles(list(remove))
        rec = self.store.get_record("catalog") or {}
        version = int(rec.get("version", 0)) + 1
        self.store.put_record("catalog", {"version": version, "fingerprint": fingerprint, "embedder": embedder,
                                          "writer": PROCESS})
        if not self.store.is_server:
            self.index.write_stamp(f"{version} {PROCESS}")
        return version

    def end(self) -> None:
        """The versions written down by ``begin`` are committed or deleted: nothing is pending."""
        self.store.delete_record("pending")

    def recover(self) -> list[str]:
        """Delete the chunks of pending versions that no article record lists (an unfinished or
        killed writer's); clear the record. Returns the versions removed."""
        rec = self.store.get_record("pending")
        if not rec:
            return []
        live = {e.version for e in self.store.get_articles(ids=rec.get("docs", [])).values()}
        dead = sorted(set(rec.get("versions", [])) - live)
        if dead:
            self.store.delete_versions(dead)
        self.store.delete_record("pending")
        return dead
