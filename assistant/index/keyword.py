"""The keyword index and the local copy of the live chunks: tantivy (a maintained, incremental search
library: segments merged in the background, deletes by term), over our own tokens (``text.words``:
stemmed, stop words out, numbers by value), in this process's local folder (``<index>/keyword/``).

It is a cache of the chunks in Chroma and holds exactly the chunks of the catalog's live article
versions, each with its stored row (text, metadata, sentence vectors), so a question reads its
candidates here, not from Chroma, and a dense hit counts only if this index holds it (a chunk of an
unfinished ingest never does). Its changes are atomic tantivy commits: a replaced article's old
chunks leave in the commit that brings the new ones. The writer updates it after every commit of the
catalog; a reader whose catalog moved on (another process or another machine wrote) ``sync``s it
first, adding and deleting only what changed, so with a Chroma server every replica builds and
refreshes its own from the server. ``synced.json`` says which catalog version it is at;
``versions.log`` which article versions it holds, a line ``+version`` or ``-version`` appended per
change (a batch's commit costs its own lines, not a rewrite of every version), rewritten whole by
``sync``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from assistant.index.layout import atomic_write
from assistant.index.vectors import split_sentence_vectors
from assistant.text.words import tokenize

SCHEMA_VERSION = 6


def keyword_text(text: str, meta: dict) -> str:
    """What BM25 scores for a chunk: its article's title and outlet, then its text."""
    return "\n".join(x for x in (meta.get("title", ""), meta.get("source", ""), text) if x)


def _schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    sb.add_bytes_field("row", stored=True, indexed=False)  # the chunk's metadata, JSON; stored, never searched
    sb.add_bytes_field("vectors", stored=True, indexed=False)  # its sentence vectors, float16 bytes
    sb.add_text_field("version", stored=False, tokenizer_name="raw")
    sb.add_integer_field("date_int", indexed=True, fast=True)
    sb.add_text_field("source", stored=False, tokenizer_name="raw")  # case-folded outlet
    sb.add_text_field("body", stored=False, tokenizer_name="words", index_option="freq")
    return sb.build()


def _row(chunk_id: str, doc):
    """A stored document as a ``ChunkRow`` (its JSON parsed only when asked for)."""
    from assistant.index.vectors import ChunkRow

    vectors = doc["vectors"]
    return ChunkRow(chunk_id, raw=doc["row"][0], vectors=bytes(vectors[0]) if vectors else None)


class KeywordIndex:
    def __init__(self, folder: Path):
        import tantivy

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._state_path = self.folder / "synced.json"
        self._log_path = self.folder / "versions.log"
        state = self._read_state()
        if state.get("schema") != SCHEMA_VERSION:  # a new layout: start over
            for f in self.folder.iterdir():
                if f.is_file():
                    f.unlink()
            state = {}
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(self.folder), reuse=True)
        # our tokens are already words: the index splits them on spaces and nothing else
        self.index.register_tokenizer("words", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
        self.catalog_version = int(state.get("catalog_version", -1))
        self._lock = threading.Lock()
        self._writer = None

    def _read_state(self) -> dict:
        try:
            return json.loads(self._state_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    # ------------------------------------------------------------------ search
    def search(self, query: str, limit: int, *, date_from: int | None = None, date_to: int | None = None,
               sources: Iterable[str] | None = None, exclude: set[str] = frozenset(),
               match_all: bool = False, rows: dict | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best ``limit`` chunks, best first, the filters applied in the
        index (``sources``: outlets, any case). ``match_all``: every chunk passing the filters, at score
        0, by chunk id (skipping ``exclude``). ``rows``: filled with the hits' ``ChunkRow``s, read from
        the documents the search loads anyway (a caller that needs them reads nothing twice)."""
        import tantivy

        tokens = list(dict.fromkeys(tokenize(query)))
        if limit <= 0 or not (tokens or match_all):
            return []
        must = []
        if not match_all:
            must.append((tantivy.Occur.Must, tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "body", t)) for t in tokens])))
        if date_from is not None or date_to is not None:
            must.append((tantivy.Occur.Must, tantivy.Query.range_query(
                self.schema, "date_int", tantivy.FieldType.Integer, max(1, date_from or 1), date_to)))
        if sources is not None:
            wanted = [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "source", s.strip().casefold()))
                      for s in sources if s.strip()]
            must.append((tantivy.Occur.Must, tantivy.Query.boolean_query(wanted) if wanted
                         else tantivy.Query.empty_query()))
        query_ = tantivy.Query.boolean_query(must) if must else tantivy.Query.all_query()
        searcher = self.index.searcher()
        found, docs = [], {}
        for score, address in searcher.search(query_, limit + (len(exclude) if match_all else 0), count=False).hits:
            doc = searcher.doc(address)
            docs[doc["chunk_id"][0]] = doc
            found.append((doc["chunk_id"][0], 0.0 if match_all else float(score)))
        if match_all:
            found = [(cid, 0.0) for cid, _ in sorted(found) if cid not in exclude][:limit]
        if rows is not None:
            rows.update((cid, _row(cid, docs[cid])) for cid, _ in found if cid not in rows)
        return found

    def rows(self, chunk_ids: Iterable[str]) -> dict:
        """The stored rows (``ChunkRow``: text, metadata, sentence vectors) of the given chunks that this
        index holds; the others are not part of the corpus."""
        import tantivy

        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return {}
        searcher = self.index.searcher()
        out = {}
        for i in range(0, len(ids), 512):
            part = ids[i:i + 512]
            # a boolean of term queries: a third of the time of ``term_set_query`` for a few dozen ids
            wanted = tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "chunk_id", c)) for c in part])
            for _, address in searcher.search(wanted, len(part), count=False).hits:
                doc = searcher.doc(address)
                out[doc["chunk_id"][0]] = _row(doc["chunk_id"][0], doc)
        return out

    def __len__(self) -> int:
        return self.index.searcher().num_docs

    def chunk_ids(self) -> set[str]:
        """Every chunk id in the index (for checks and repairs: it reads them all)."""
        import tantivy

        searcher = self.index.searcher()
        hits = searcher.search(tantivy.Query.all_query(), max(1, searcher.num_docs), count=False).hits
        return {searcher.doc(address)["chunk_id"][0] for _, address in hits}

    # ------------------------------------------------------------------ keeping it in step with Chroma
    def sync(self, live, catalog_version: int, chunks_of) -> tuple[int, int]:
        """Hold exactly the chunks of the live versions of catalog version ``catalog_version``: add the
        new ones (``chunks_of(versions)`` yields their ``ChunkRow``s from Chroma), delete the gone ones.
        ``live``: the set of versions, or a function returning it (read only when this folder is not
        already at that catalog version). Returns the (added, deleted) version counts."""
        from filelock import FileLock

        with self._lock, FileLock(str(self.folder / ".sync.lock")):
            state = self._read_state()  # another process may have synced the same folder meanwhile
            if int(state.get("catalog_version", -1)) == catalog_version:
                self.catalog_version = catalog_version
                self.index.reload()
                return 0, 0
            live = set(live() if callable(live) else live)
            held = self._read_versions()
            add = sorted(live - held)
            drop = sorted(held - live)
            if add or drop:
                self._write(add, drop, chunks_of)
                self.release()
            atomic_write(self._log_path, "".join(f"+{v}\n" for v in sorted(live)))
            self.catalog_version = catalog_version
            self._save_state()
            self.index.reload()
            return len(add), len(drop)

    def update(self, add: Sequence[str], drop: Sequence[str], catalog_version: int, chunks_of) -> None:
        """The writer's step after the commit that moved the catalog to ``catalog_version``: add and drop
        exactly these versions. In step only if this index was at the version before (or a reader has
        synced it to this one already); otherwise it is marked behind, and the next writer or reader
        syncs it in full."""
        from filelock import FileLock

        with self._lock, FileLock(str(self.folder / ".sync.lock")):
            before = int(self._read_state().get("catalog_version", -1))
            if before != catalog_version:
                self._write(add, drop, chunks_of)
                with open(self._log_path, "a", encoding="utf-8") as log:
                    log.write("".join([f"-{v}\n" for v in drop] + [f"+{v}\n" for v in add]))
            self.catalog_version = catalog_version if before in (catalog_version - 1, catalog_version) else -1
            self._save_state()
            self.index.reload()

    MAX_SEGMENTS = 10

    def _write(self, add: Sequence[str], drop: Sequence[str], chunks_of) -> None:
        """One atomic commit: the dropped versions out, the added ones in. The writer stays open, so
        tantivy merges segments in the background while an ingest goes on (``release`` ends it)."""
        import tantivy

        if self._writer is None:
            self._writer = self.index.writer(15_000_000, 1)
        writer = self._writer
        try:
            for version in drop:
                writer.delete_documents_by_term("version", version)
            for version in add:  # an interrupted sync may have left some of them: never twice
                writer.delete_documents_by_term("version", version)
            for row in chunks_of(add):
                doc = tantivy.Document()
                doc.add_text("chunk_id", row.id)
                meta, vectors = split_sentence_vectors(row.meta)
                doc.add_bytes("row", json.dumps(meta, ensure_ascii=False).encode("utf-8"))
                doc.add_bytes("vectors", vectors)
                doc.add_text("version", row.version)
                doc.add_integer("date_int", int(row.meta.get("date_int") or 0))
                doc.add_text("source", (row.meta.get("source") or "").casefold())
                doc.add_text("body", " ".join(tokenize(keyword_text(row.text, row.meta))) or "\u2205")
                writer.add_document(doc)
            writer.commit()
        except BaseException:
            self.release(merge=False)
            raise

    def release(self, merge: bool = True) -> None:
        """Let go of the writer (and its folder's lock). With ``merge``, first wait for the segment merges
        tantivy started, when there are more than ``MAX_SEGMENTS`` segments (a big ingest's end); a small
        change does not wait for them."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if merge and self.index.searcher().num_segments > self.MAX_SEGMENTS:
            writer.wait_merging_threads()
        del writer
        self.index.reload()

    def _read_versions(self) -> set[str]:
        """The article versions this index holds, from ``versions.log`` (a torn last line of a killed
        writer names a version nobody has: harmless, a later sync drops it)."""
        held: set[str] = set()
        try:
            with open(self._log_path, encoding="utf-8") as log:
                for line in log:
                    version = line.rstrip("\n")[1:]
                    if line.startswith("+"):
                        held.add(version)
                    elif line.startswith("-"):
                        held.discard(version)
        except FileNotFoundError:
            pass
        return held

    def _save_state(self) -> None:
        atomic_write(self._state_path, json.dumps({"schema": SCHEMA_VERSION, "catalog_version": self.catalog_version}))


_OPEN: dict[str, KeywordIndex] = {}


def open_keyword_index(folder: Path) -> KeywordIndex:
    """This process's keyword index in ``folder`` (one per folder: tantivy allows one writer)."""
    key = str(Path(folder).resolve())
    if key not in _OPEN:
        _OPEN[key] = KeywordIndex(folder)
    return _OPEN[key]
