"""The on-disk index folder (default ``index/``) and consistent reads of it.

    index/
      manifest.json          the source of truth: documents, their chunk ids, the keyword generation
      articles/<key>.json    each article's cleaned text and metadata (citations quote it by offsets)
      keyword/<generation>/  BM25 + chunk table, one immutable folder per ingest
      chroma/                Chroma's files (unless ASSISTANT_CHROMA_URL points at a server)
      .lock                  held by the one writer

Writers (``assistant.ingest.indexer``) add new chunks to Chroma first, then write a new keyword
generation and atomically replace ``manifest.json``, and only then delete old chunks.
Readers take the manifest as one snapshot and ignore Chroma ids it does not list, so they
never see half an ingest.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import IndexStateError

MANIFEST_VERSION = 1


@dataclass
class DocEntry:
    doc_id: str
    title: str
    date: str | None
    source: str
    url: str
    dateline: str
    content_hash: str
    origin_file: str
    root: str
    article_file: str
    chunk_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, d: dict) -> DocEntry:
        return cls(**d)


@dataclass
class Manifest:
    fingerprint: str = ""
    embedder: str = ""
    generation: str = ""
    docs: dict[str, DocEntry] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"version": MANIFEST_VERSION, "fingerprint": self.fingerprint, "embedder": self.embedder,
                "generation": self.generation, "docs": {k: v.to_json() for k, v in sorted(self.docs.items())}}

    @classmethod
    def from_json(cls, d: dict) -> Manifest:
        if d.get("version") != MANIFEST_VERSION:
            raise IndexStateError(f"manifest version {d.get('version')} is not supported; rebuild the index")
        return cls(fingerprint=d["fingerprint"], embedder=d["embedder"], generation=d["generation"],
                   docs={k: DocEntry.from_json(v) for k, v in d["docs"].items()})


class IndexDir:
    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def articles_dir(self) -> Path:
        return self.path / "articles"

    @property
    def keyword_dir(self) -> Path:
        return self.path / "keyword"

    @property
    def lock_path(self) -> Path:
        return self.path / ".lock"

    def read_manifest(self) -> Manifest:
        if not self.manifest_path.exists():
            return Manifest()
        try:
            return Manifest.from_json(json.loads(self.manifest_path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise IndexStateError(f"{self.manifest_path}: unreadable manifest ({exc}); rebuild the index") from None

    def article_rows(self) -> list[dict]:
        """The indexed articles, by doc_id: what `assistant list` and the UI's corpus panel show."""
        docs = self.read_manifest().docs
        return [{"doc_id": d.doc_id, "title": d.title, "date": d.date, "source": d.source, "url": d.url,
                 "chunks": len(d.chunk_ids), "origin_file": d.origin_file}
                for d in sorted(docs.values(), key=lambda d: d.doc_id)]

    def manifest_stamp(self) -> tuple[int, int]:
        """Changes whenever a new manifest is written (readers use it to reload)."""
        try:
            st = self.manifest_path.stat()
            return st.st_mtime_ns, st.st_ino
        except FileNotFoundError:
            return 0, 0

    def write_manifest(self, manifest: Manifest) -> None:
        atomic_write(self.manifest_path, json.dumps(manifest.to_json(), ensure_ascii=False, indent=1))

    def article_key(self, doc_id: str, content_hash: str) -> str:
        return hashlib.sha256(f"{doc_id}\x00{content_hash}".encode()).hexdigest()[:32] + ".json"

    def write_article(self, key: str, record: dict) -> None:
        self.articles_dir.mkdir(parents=True, exist_ok=True)
        target = self.articles_dir / key
        if not target.exists():
            atomic_write(target, json.dumps(record, ensure_ascii=False))

    def read_article(self, key: str) -> dict:
        return json.loads((self.articles_dir / key).read_text(encoding="utf-8"))


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
