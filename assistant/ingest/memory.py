"""Less resident memory for a long ingest, where the C library is glibc.

glibc gives every thread that allocates its own heap ("arena", up to 8 per core) and keeps freed
memory for reuse; large buffers come from the heap once its dynamic threshold has grown. In an ingest
the embedder, Chroma's and tantivy's native threads all allocate, each batch's buffers are freed and
allocated again, and the resident size grows by more than the index does. ``assistant ingest`` therefore asks
for two arenas, buffers of 1 MiB and more mapped on their own (returned when freed), and hands the
freed heap back after every committed batch (README, "Scale": the peak RSS of 200,000 records fell
from 921 to 812 MB, the time from 164 to 198 s; one arena and 256 KiB gave the same, more slowly).
Elsewhere (musl, macOS) these calls do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # mallopt parameters (malloc.h)
M_ARENA_MAX = -8
INGEST_ARENAS = 2
INGEST_MMAP_THRESHOLD = 2**20


@functools.cache
def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except (OSError, TypeError):
        return None


def tune_for_ingest() -> bool:
    """Fewer arenas and mapped large buffers for this process (call before the native threads start);
    False where the C library has no ``mallopt``."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, INGEST_ARENAS)) and bool(libc.mallopt(M_MMAP_THRESHOLD,
                                                                               INGEST_MMAP_THRESHOLD))


def release_freed_memory() -> None:
    """Hand the heap memory freed so far back to the system (after a committed batch)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
