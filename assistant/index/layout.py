"""The index's local folder (default ``index/``) and the record of one indexed article.

    index/
      chroma/          Chroma's files: chunks (vectors, texts, sentence vectors), articles, catalog
                       state (unless ASSISTANT_CHROMA_URL points at a server, which then holds all of it)
      keyword/         this process's BM25 keyword index (tantivy), synced from the chunks in Chroma
      catalog.stamp    changes with every commit of the embedded store (readers reload on a change)
      .lock            held by the one writer of the embedded store
      uploads/         files uploaded through the chat UI

What is indexed is what Chroma's article records (``DocEntry``) say: a chunk belongs to the corpus
only while an article record lists its version, so a reader never sees half an ingest, and chunks
of an unfinished ingest are invisible orphans until a writer removes them.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass
class DocEntry:
    """One indexed article: its metadata, where it came from, and which chunks hold it."""

    doc_id: str
    title: str = ""
    date: str | None = None
    source: str = ""
    url: str = ""
    dateline: str = ""
    content_hash: str = ""
    origin_file: str = ""
    root: str = ""
    version: str = ""  # identifies this text under these chunk/embedder settings; its chunks' id prefix
    chunks: int = 0  # chunk ids: f"{version}-{i:04d}" for i < chunks
    extractor: str = ""  # how its text was read (html pages: "trafilatura" or "html.parser")
    author: str = ""
    text_in_chunks: bool = False  # its chunks hold the whole text (no separate text record)

    @property
    def chunk_ids(self) -> list[str]:
        return [chunk_id(self.version, i) for i in range(self.chunks)]

    def to_meta(self) -> dict:
        """As Chroma metadata: the fields in one JSON string ``entry`` (each metadata key costs a
        write of its own, and long strings cost most: empty fields are left out), and beside it the
        two Chroma filters on: ``origin_file``, and ``root`` only when the article came through a
        folder (a file named on its own is its own root; a folder's records are found by ``root``)."""
        values = {f: v for f in _FIELDS if f not in _KEYS and (v := getattr(self, f)) not in (None, "", 0, False)}
        meta = {"entry": json.dumps(values, ensure_ascii=False, separators=(",", ":")), "origin_file": self.origin_file}
        if self.root != self.origin_file:
            meta["root"] = self.root
        return meta

    @classmethod
    def from_meta(cls, meta: dict) -> DocEntry:
        """From ``to_meta``'s metadata, or from an older index's (one key per field)."""
        packed = meta.get("entry")
        if isinstance(packed, str):
            with contextlib.suppress(json.JSONDecodeError):
                meta = {**json.loads(packed), **{k: v for k, v in meta.items() if k in _KEYS}}
        values = {k: v for k, v in meta.items() if k in _FIELDS}
        values["date"] = values.get("date") or None
        values.setdefault("root", values.get("origin_file", ""))
        return cls(**values)


_KEYS = ("origin_file", "root")  # fields stored as Chroma metadata keys of their own (filtered on)
_FIELDS = tuple(f.name for f in fields(DocEntry))


def chunk_id(version: str, index: int) -> str:
    return f"{version}-{index:04d}"


def version_of(chunk: str) -> str:
    """The article version a chunk id belongs to."""
    return chunk.rpartition("-")[0]


class IndexDir:
    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def chroma_dir(self) -> Path:
        return self.path / "chroma"

    @property
    def keyword_dir(self) -> Path:
        return self.path / "keyword"

    @property
    def lock_path(self) -> Path:
        return self.path / ".lock"

    @property
    def stamp_path(self) -> Path:
        return self.path / "catalog.stamp"

    @property
    def legacy_manifest(self) -> Path:
        """The manifest of the index format before the catalog moved into Chroma."""
        return self.path / "manifest.json"

    def read_stamp(self) -> str:
        try:
            return self.stamp_path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return ""

    def write_stamp(self, text: str) -> None:
        atomic_write(self.stamp_path, text)


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
