"""Reading landed files vs. the compactor replacing them.

The compactor (ingestion/compaction.py) replaces a day's small files by merged ones: it
renames the merged files into place and deletes the parts. A reader that listed the
parts and then opens them (a build's file list, a DuckDB glob) must not see that step
half done, nor lose a file between listing and reading it. Readers hold
``state/raw.lock`` shared for as long as they use a listing; the compactor takes it
exclusively for the swap only (milliseconds), after merging outside it.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ringside.core.layout import Layout

POLL_SECONDS = 0.05


@contextmanager
def reading_raw(layout: Layout) -> Iterator[None]:
    """Landed files listed inside the block stay in place until it ends."""
    path = layout.raw_lock_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def replacing_raw(
    layout: Layout, timeout_seconds: float, stopping: Callable[[], bool] = lambda: False
) -> Iterator[bool]:
    """Exclusive use of the landed files: yields True once no reader holds them, or
    False when readers held them for ``timeout_seconds`` or ``stopping()`` turned true
    meanwhile (the caller tries later)."""
    # Polls instead of blocking: a blocked ``flock`` can neither time out nor stop, and
    # a compactor must never wait on a long build indefinitely.
    path = layout.raw_lock_path
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_seconds
    with open(path, "ab") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline or stopping():
                    yield False
                    return
                time.sleep(POLL_SECONDS)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
