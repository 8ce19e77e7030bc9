"""Uploaded files: checked, copied into ``<index dir>/uploads/`` and ingested from there, each file
its own ingest root (so a re-ingest of the seeds never removes an upload); removed from the store
once none of their articles is indexed.

    ingest_uploads(settings, [(temporary path, original name), ...]) -> IngestReport (+ ``stored``)
    remove_articles(settings, doc_ids) -> one-line summary
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from assistant.index.catalog import Catalog
from assistant.ingest.indexer import Indexer, IngestReport
from assistant.ingest.loading import SUPPORTED_SUFFIXES, LoadError, too_large_message, unsupported_type_message
from assistant.settings import Settings

UPLOADS_DIR_NAME = "uploads"


def uploads_dir(settings: Settings) -> Path:
    """Where uploaded files are kept: inside the index store, so they live as long as the index."""
    return Path(settings.index_dir) / UPLOADS_DIR_NAME


def upload_problem(name: str, size: int, max_bytes: int) -> str | None:
    """Why an upload is refused before it is read (type, emptiness, size), as one line naming the
    file; None when it may be ingested."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return f"{name}: {unsupported_type_message(suffix)}"
    if size == 0:
        return f"{name}: empty file"
    if size > max_bytes:
        return f"{name}: {too_large_message(size, max_bytes)}"
    return None


def safe_upload_name(name: str) -> str:
    """A plain file name for the store: no folders, no leading dots, only word characters, dots,
    dashes and spaces."""
    base = Path(str(name).replace("\\", "/")).name
    base = re.sub(r"[^\w.\- ]", "_", base).strip().lstrip(".")
    stem, suffix = os.path.splitext(base)
    return (stem[:100] or "upload") + suffix[:10]


def _refused(message: str) -> LoadError:
    """A refusal ``"name: why"`` as the ingest's error type."""
    name, _, why = message.partition(": ")
    return LoadError(name, why)


def _store(files: Iterable[tuple[Path | str, str]], folder: Path, max_bytes: int,
           report: IngestReport) -> dict[Path, Path | None]:
    """Copy the acceptable uploads into ``folder``: stored file -> its previous version (kept aside
    to be restored if the new one indexes nothing). Refusals go into ``report.errors``."""
    targets: dict[Path, Path | None] = {}
    for tmp, original in files:
        tmp = Path(tmp)
        name = safe_upload_name(original or tmp.name)
        try:
            size = tmp.stat().st_size
        except OSError as exc:
            report.errors.append(LoadError(name, f"cannot read the upload: {exc.strerror or exc}"))
            continue
        problem = upload_problem(name, size, max_bytes)
        if problem:
            report.errors.append(_refused(problem))
            continue
        target = folder / name
        if target in targets:
            report.errors.append(LoadError(name, "uploaded twice in one batch; the first copy is kept"))
            continue
        backup = None
        if target.exists():
            backup = target.with_name(f".{name}.previous")
            os.replace(target, backup)
        shutil.copyfile(tmp, target)
        targets[target] = backup
    return targets


def ingest_uploads(settings: Settings, files: Iterable[tuple[Path | str, str]],
                   progress: Callable[[int, int], None] | None = None, embedder=None) -> IngestReport:
    """Copy uploaded files (``(temporary path, original name)``) into the uploads folder and ingest
    them from there. Refused files (type, size) are not copied; a file of which nothing could be
    indexed is taken out of the store again (a replaced file gets its previous version back).
    The report's errors name the files by their upload name; ``stored`` lists the files kept."""
    t0 = time.perf_counter()
    report = IngestReport()
    folder = uploads_dir(settings).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    targets = _store(files, folder, int(settings.max_upload_mb * 2**20), report)
    if targets:
        result = Indexer(settings, embedder=embedder).ingest(sorted(targets), progress=progress)
        prefix = str(folder) + os.sep
        report.errors += [LoadError(e.path.replace(prefix, ""), e.message.replace(prefix, "")) for e in result.errors]
        for name in ("added", "updated", "unchanged", "removed", "reindexed"):
            setattr(report, name, getattr(result, name))
        report.chunks_embedded, report.total_docs, report.total_chunks = (
            result.chunks_embedded, result.total_docs, result.total_chunks)
        taken = set(result.added + result.updated + result.unchanged + result.reindexed)
        docs = Catalog.open(settings, embedder).store.get_articles(ids=sorted(taken))
        indexed_files = {e.origin_file for e in docs.values()}  # files this upload got into the index
        for target, backup in sorted(targets.items()):
            if str(target) in indexed_files:
                report.stored.append(target.name)
                if backup is not None:
                    backup.unlink(missing_ok=True)
            elif backup is not None:
                os.replace(backup, target)  # nothing of the new version got in: the old one stays
            else:
                target.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - t0
    return report


def remove_articles(settings: Settings, doc_ids: Sequence[str], embedder=None) -> str:
    """Remove articles from the index; an uploaded file leaves the store once none of its articles
    is indexed. Returns a one-line summary."""
    catalog = Catalog.open(settings, embedder)
    before = catalog.store.get_articles(ids=list(doc_ids))
    origins = {e.origin_file for e in before.values()}
    report = Indexer(settings, embedder=embedder).remove(list(doc_ids))
    still = {e.origin_file for e in catalog.store.get_articles(
        where={"origin_file": {"$in": sorted(origins)}}).values()} if origins else set()
    folder = uploads_dir(settings).resolve()
    for origin in origins - still:
        path = Path(origin)
        if path.parent == folder:
            path.unlink(missing_ok=True)
    return (f"removed {', '.join(report.removed)}; index: {report.total_docs} articles, "
            f"{report.total_chunks} passages")
