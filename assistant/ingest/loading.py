"""Load articles from files and folders: .txt, .md, .html/.htm, .json and .jsonl.

``load_paths`` never raises for a bad file: each problem becomes a ``LoadError`` (one
line naming the file) and the rest of the batch is loaded.

Hidden files and the patterns in a folder's ``.assistantignore`` are skipped.

doc_id rules: a file found in a folder -> its path relative to that folder; a single
file -> its name; a JSON/JSONL record -> its ``id`` or ``FILE#N`` (N counts records from 1).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant.ingest.cleaning import Cleaned, clean_article, normalize_date

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES


@dataclass
class Article:
    doc_id: str
    text: str  # cleaned text: citations quote it by character offsets
    title: str = ""
    date: str | None = None
    source: str = ""
    url: str = ""
    dateline: str = ""
    origin_file: str = ""  # absolute path of the file it came from (or the URL)
    root: str = ""  # the folder it was ingested through, or the file itself
    content_hash: str = ""
    author: str = ""
    extractor: str = ""  # how an HTML page was read: "trafilatura" or "html.parser"

    def metadata(self) -> dict:
        return {"doc_id": self.doc_id, "title": self.title, "date": self.date, "source": self.source,
                "url": self.url, "dateline": self.dateline}


@dataclass
class LoadError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    # folder (or single file) -> every supported file found under it, loaded or not;
    # ingest removes only documents of a scanned root whose file is gone.
    scanned: dict[str, set[str]] = field(default_factory=dict)
    # files that failed to load in whole or in part: their indexed documents are kept
    failed_files: set[str] = field(default_factory=set)


class _FileError(Exception):
    pass


IGNORE_FILE = ".assistantignore"


def _ignore_patterns(root: Path) -> list[str]:
    """Glob patterns, one a line, from ``<folder>/.assistantignore`` (e.g. the seeds' question set)."""
    f = root / IGNORE_FILE
    if not f.is_file():
        return []
    lines = (ln.strip() for ln in f.read_text(encoding="utf-8", errors="replace").splitlines())
    return [ln for ln in lines if ln and not ln.startswith("#")]


def _is_ignored(rel: str, patterns: list[str]) -> bool:
    from fnmatch import fnmatchcase

    name = rel.rsplit("/", 1)[-1]
    return any(fnmatchcase(rel, p) or fnmatchcase(name, p) for p in patterns)


@dataclass
class Scanned:
    """A folder (or a single file) and every supported file found under it, loaded or not: ingest
    removes only articles of a scanned root whose file is gone, and none under a folder it could not
    read (``unreadable``)."""

    root: str
    files: set[str]
    unreadable: list[str] = field(default_factory=list)

    def lost(self, origin_file: str) -> bool:
        """An article of this root whose file is gone (not merely out of reach)."""
        if origin_file in self.files:
            return False
        return not any(origin_file == d or origin_file.startswith(d.rstrip(os.sep) + os.sep) for d in self.unreadable)


@dataclass
class FileDone:
    """Every article of ``path`` has been yielded; ``failed``: it did not load cleanly (its indexed
    articles are kept); ``doc_ids``: the articles it holds now."""

    path: str
    failed: bool
    doc_ids: set[str]


LoadEvent = Article | LoadError | Scanned | FileDone


def iter_load(paths: Iterable[Path | str], *, max_bytes: int | None = None,
              max_records: int | None = None) -> Iterator[LoadEvent]:
    """The articles of the given files and folders, one at a time (a JSONL file of any length never
    sits in memory as articles), with a ``LoadError`` line for each problem, a ``Scanned`` event per
    folder before its files, and a ``FileDone`` after each file."""
    seen_ids: dict[str, str] = {}
    for raw_path in paths:
        path = Path(raw_path).expanduser()
        if path.is_dir():
            root = path.resolve()
            files, problems, unreadable = _walk(root)
            yield from problems
            yield Scanned(str(root), {str(p) for p in files}, unreadable)
            for f in files:
                yield from _load_one(f, f.relative_to(root).as_posix(), str(root), seen_ids, max_bytes, max_records)
        elif path.is_file():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                yield LoadError(str(raw_path), unsupported_type_message(path.suffix))
                continue
            if _CONTROL.search(path.name):
                yield LoadError(repr(str(raw_path)), CONTROL_NAME)
                continue
            f = path.resolve()
            yield Scanned(str(f), {str(f)})
            yield from _load_one(f, path.name, str(f), seen_ids, max_bytes, max_records)
        elif path.is_symlink():
            yield LoadError(str(raw_path), "dangling symbolic link (its target does not exist)")
        else:
            yield LoadError(str(raw_path), "no such file or folder")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_NAME = "the file name has control characters (a newline, a tab, ...); rename the file"


def _walk(root: Path) -> tuple[list[Path], list[LoadError], list[str]]:
    """The supported files under ``root`` (hidden files and .assistantignore patterns skipped; links
    followed), a line for every path skipped for a reason the user should know (an unreadable folder,
    a dangling link, a folder loop, a file name with control characters), and the folders it could
    not read."""
    ignored = _ignore_patterns(root)
    files: list[Path] = []
    problems: list[LoadError] = []
    unreadable: list[str] = []
    seen: set[tuple[int, int]] = set()

    def visit(folder: Path) -> None:
        try:
            st = folder.stat()
            key = (st.st_dev, st.st_ino)
            if key in seen:
                problems.append(LoadError(str(folder), "a symbolic link back to a folder above it (a loop); skipped"))
                return
            seen.add(key)
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            problems.append(LoadError(str(folder), f"cannot read the folder: {exc.strerror or exc}; its articles "
                                                   "stay indexed as they were"))
            unreadable.append(str(folder))
            return
        for entry in entries:
            p = Path(entry.path)
            if entry.name.startswith(".") or _is_ignored(p.relative_to(root).as_posix(), ignored):
                continue
            try:
                if entry.is_symlink() and not p.exists():
                    problems.append(LoadError(str(p), "dangling symbolic link (its target does not exist); skipped"))
                    continue
                if entry.is_dir():
                    visit(p)
                    continue
                if not entry.is_file() or p.suffix.lower() not in SUPPORTED_SUFFIXES:
                    continue
            except OSError as exc:
                problems.append(LoadError(str(p), f"cannot read: {exc.strerror or exc}; skipped"))
                continue
            if _CONTROL.search(entry.name):
                problems.append(LoadError(repr(str(p)), CONTROL_NAME))
                continue
            files.append(p)

    visit(root)
    return sorted(files), problems, unreadable


def load_paths(paths: Iterable[Path | str], *, max_bytes: int | None = None) -> LoadResult:
    """Everything ``iter_load`` yields, gathered (for small inputs and tests)."""
    result = LoadResult()
    for event in iter_load(paths, max_bytes=max_bytes):
        if isinstance(event, Article):
            result.articles.append(event)
        elif isinstance(event, LoadError):
            result.errors.append(event)
        elif isinstance(event, Scanned):
            result.scanned[event.root] = event.files
        elif event.failed:
            result.failed_files.add(event.path)
    return result


def unsupported_type_message(suffix: str) -> str:
    return f"unsupported file type {suffix or '(none)'!r} (use {', '.join(sorted(SUPPORTED_SUFFIXES))})"


def too_large_message(size: int, max_bytes: int) -> str:
    return f"file too large ({size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.1f} MiB)"


def _load_one(path: Path, doc_id: str, root: str, seen_ids: dict[str, str],
              max_bytes: int | None, max_records: int | None = None) -> Iterator[LoadEvent]:
    shown = str(path)
    failed = False
    ids: set[str] = set()
    try:
        data = path.read_bytes()
        if max_bytes is not None and len(data) > max_bytes:
            raise _FileError(too_large_message(len(data), max_bytes))
        text = _decode(data)
        suffix = path.suffix.lower()
        if suffix in JSON_SUFFIXES:
            items = _load_records(text, doc_id, path, suffix == ".jsonl", max_records)
        else:
            cleaned, url, extra = _clean_file(text, suffix)
            if not cleaned.text.strip():
                raise _FileError("no article text left after cleaning")
            art = _article(doc_id, cleaned, url, **extra)
            art.content_hash = hashlib.sha256(data).hexdigest()
            items = iter([art])
        for item in items:
            if isinstance(item, LoadError):
                failed = True
                yield item
                continue
            item.origin_file, item.root = str(path), root
            if item.doc_id in seen_ids:
                failed = True
                yield LoadError(shown, f"doc_id {item.doc_id!r} is already used by {seen_ids[item.doc_id]} "
                                       "in this batch; two articles cannot share a doc_id")
                continue
            seen_ids[item.doc_id] = shown
            ids.add(item.doc_id)
            yield item
    except _FileError as exc:
        failed = True
        yield LoadError(shown, str(exc))
    except OSError as exc:
        failed = True
        yield LoadError(shown, f"cannot read: {exc.strerror or exc}")
    yield FileDone(str(path), failed, ids)


def _decode(data: bytes) -> str:
    if not data.strip():
        raise _FileError("empty file")
    if b"\x00" in data[:8192]:
        raise _FileError("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _FileError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def _article(doc_id: str, c: Cleaned, url: str = "", author: str = "", extractor: str = "") -> Article:
    return Article(doc_id=doc_id, text=c.text, title=c.title, date=c.date, source=c.source, url=url,
                   dateline=c.dateline, author=author, extractor=extractor)


def _clean_file(text: str, suffix: str, url: str | None = None) -> tuple[Cleaned, str, dict]:
    """The cleaned article of a file's text, its URL, and what else its format told (author, extractor)."""
    if suffix in HTML_SUFFIXES:
        from assistant.ingest.html_text import html_to_article

        page = html_to_article(text, url)
        return (clean_article(page.text, title=page.title, date=page.date, source=page.source,
                              detect_headline=not page.title), page.url, {"author": page.author,
                                                                          "extractor": page.extractor})
    if suffix in MARKDOWN_SUFFIXES:
        front, body = _front_matter(text)
        body, heading = _markdown_to_text(body)
        return clean_article(body, title=front.get("title", "") or heading,
                             date=_safe_date(front.get("date")), source=front.get("source", ""),
                             detect_headline=not (front.get("title") or heading)), front.get("url", ""), {}
    return clean_article(text), "", {}


def _safe_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return normalize_date(value)
    except ValueError:
        return None


def _load_records(text: str, file_id: str, path: Path, jsonl: bool,
                  max_records: int | None = None) -> Iterator[Article | LoadError]:
    """The records of a JSON or JSONL file as articles (a bad record: its error line), one at a time;
    past ``max_records``, one line and no more."""
    for n, item in enumerate(_records(text, file_id, path, jsonl), 1):
        if max_records is not None and n > max_records:
            yield LoadError(str(path), f"more than {max_records:,} records (ASSISTANT_MAX_RECORDS_PER_FILE): the rest "
                                       "is not read, and articles indexed from it stay")
            return
        yield item


def _records(text: str, file_id: str, path: Path, jsonl: bool) -> Iterator[Article | LoadError]:
    if jsonl:
        n = 0
        any_line = False
        for lineno, line in enumerate(io.StringIO(text, newline=None), 1):  # a line at a time, not a list
            if not line.strip():
                continue
            any_line = True
            n += 1
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                yield LoadError(f"{path}:{lineno}", f"malformed JSON: {exc.msg} (column {exc.colno})")
                continue
            yield _record_or_error(rec, f"{file_id}#{n}", f"{path}:{lineno}")
        if not any_line:
            raise _FileError("no JSON records")
        return
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _FileError(f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _FileError("no JSON records (empty list)")
    for i, item in enumerate(items, 1):
        yield _record_or_error(item, f"{file_id}#{i}", f"{path}[{i - 1}]" if isinstance(value, list) else str(path))


def _record_or_error(rec: object, default_id: str, where: str) -> Article | LoadError:
    try:
        art = _record_article(rec, default_id)
    except _FileError as exc:
        return LoadError(where, str(exc))
    art.content_hash = hashlib.sha256(json.dumps(rec, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return art


def _record_article(rec: object, default_id: str) -> Article:
    if not isinstance(rec, dict):
        raise _FileError(f"a record must be a JSON object, got {type(rec).__name__}")
    for key in ("title", "date", "url", "source"):
        if rec.get(key) is not None and not isinstance(rec[key], str):
            raise _FileError(f"field {key!r} must be a string")
    body = rec.get("text")
    if not isinstance(body, str) or not body.strip():
        raise _FileError("field 'text' is missing or empty")
    rid = rec.get("id")
    if rid is not None and not isinstance(rid, (str, int)) or rid == "":
        raise _FileError("field 'id' must be a non-empty string or integer")
    if isinstance(rid, str) and _CONTROL.search(rid):
        raise _FileError("field 'id' has control characters (a newline, a tab, ...)")
    date = None
    if rec.get("date"):
        try:
            date = normalize_date(rec["date"])
        except ValueError:
            raise _FileError(f"field 'date' is not a date: {rec['date']!r} (use YYYY-MM-DD)") from None
    cleaned = clean_article(body, title=rec.get("title") or "", date=date, source=rec.get("source") or "",
                            detect_headline=not rec.get("title"))
    if not cleaned.text.strip():
        raise _FileError("field 'text' has no article text after cleaning")
    return _article(str(rid) if rid is not None else default_id, cleaned, url=rec.get("url") or "")


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    m = _FRONT.match(text)
    if not m:
        return {}, text
    meta = {}
    for line in m.group(1).splitlines():
        if ":" in line:
            key, _, value = line.partition(":")
            meta[key.strip().lower()] = value.strip().strip("'\"")
    return meta, text[m.end():]


def _markdown_to_text(text: str) -> tuple[str, str]:
    """Plain text from Markdown (images dropped to their alt text, links to their text,
    emphasis markers removed) and the first level-1 heading, if any."""
    heading = ""
    lines = []
    for line in text.split("\n"):
        h = re.match(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if h:
            if h.group(1) == "#" and not heading:
                heading = h.group(2)
                continue
            line = h.group(2)
        line = re.sub(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+", "", line)  # list markers
        line = re.sub(r"^\s{0,3}>\s?", "", line)  # block quotes
        lines.append(line)
    body = "\n".join(lines)
    body = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", body)
    body = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", body)
    body = re.sub(r"(\*\*|__)(.+?)\1", r"\2", body)
    body = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", body)
    body = re.sub(r"`([^`]*)`", r"\1", body)
    body = re.sub(r"^\s*(?:[-*_]\s*){3,}$", "", body, flags=re.MULTILINE)  # rules
    return body, heading
