"""The collector's write-ahead log: group commit, replay, segments.

A request's validated rows are appended to the log as one record; one ``fdatasync``
covers every record that arrived while the previous one ran (PostgreSQL's group commit:
the first waiting writer flushes for everyone behind it), and a request is acknowledged
only once its record is synced. The log is a directory of segments,
``<seq>-<random>.wal``: records go to the newest; a flush (ingestion/collector_log.py)
closes it, lands the closed segments as Parquet and deletes them.

A record is ``length (u32) | crc32 (u32) | payload``. Reading stops at the first record
whose header or payload is short or whose checksum differs: that is the torn tail of a
write a crash interrupted, never acknowledged, so it is dropped.
"""

from __future__ import annotations

import contextlib
import os
import queue
import struct
import threading
import uuid
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import BinaryIO

from ringside.core.files import fsync_dir

HEADER = struct.Struct("<II")
SUFFIX = ".wal"
# A commit takes what waits, up to this much, so one sync never holds a huge group.
MAX_GROUP_BYTES = 8 * 1024 * 1024


class LogClosedError(RuntimeError):
    """The log was closed (the server is stopping): nothing more is accepted."""


def frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_records(path: Path) -> Iterator[bytes]:
    """The complete records of a segment, in order, up to a torn tail."""
    data = path.read_bytes()
    at = 0
    while at + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, at)
        payload = data[at + HEADER.size : at + HEADER.size + length]
        if len(payload) < length or zlib.crc32(payload) != crc:
            return
        yield payload
        at += HEADER.size + length


def segment_seq(path: Path) -> int:
    return int(path.stem.split("-")[0])


def segments(directory: Path) -> list[Path]:
    """The log's segments, oldest first."""
    return sorted(directory.glob(f"*{SUFFIX}"), key=segment_seq)


class WriteAheadLog:
    """One process's log. ``append`` returns a future that completes once the record is
    durable; a writer thread groups whatever is waiting into one write and one sync."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        existing = segments(directory)
        self._seq = segment_seq(existing[-1]) + 1 if existing else 1
        self._file = self._open(self._seq)
        # Bytes written to the current segment. Kept apart from the file so that reading
        # it never waits for the lock, which a commit holds through its sync: the event
        # loop asks for it on every request (back-pressure).
        self._written = 0
        self._lock = threading.Lock()  # the current segment: writes vs. rotation
        self._queue: queue.SimpleQueue[tuple[bytes, Future[None]] | None] = queue.SimpleQueue()
        self._closed = False
        self.commits = 0  # syncs done (each covering one group)
        self._writer = threading.Thread(target=self._run, name="wal-writer", daemon=True)
        self._writer.start()

    def _open(self, seq: int) -> BinaryIO:
        # The random part keeps a segment's name unique across the log's lifetimes (a
        # restarted process numbers from 1 again once the old segments are flushed):
        # the Parquet files a segment becomes are named after it.
        path = self.directory / f"{seq:012d}-{uuid.uuid4().hex[:12]}{SUFFIX}"
        handle = open(path, "ab")  # noqa: SIM115 - kept open across calls
        # The directory entry must survive a crash as well as the data.
        fsync_dir(self.directory)
        return handle

    def append(self, payload: bytes) -> Future[None]:
        done: Future[None] = Future()
        if self._closed:
            done.set_exception(LogClosedError("the collector is stopping"))
            return done
        # Framed by the writer thread: the checksum of a large record is not the
        # caller's (the event loop's) work.
        self._queue.put((payload, done))
        return done

    def rotate(self) -> list[Path]:
        """Start a new segment; returns the closed ones (every segment but the new)."""
        with self._lock:
            self._next_segment()
            current = self._seq
        return [path for path in segments(self.directory) if segment_seq(path) < current]

    def _next_segment(self) -> None:
        with contextlib.suppress(OSError):  # a failed write may fail the close too
            self._file.close()
        self._seq += 1
        self._file = self._open(self._seq)
        self._written = 0

    def current_bytes(self) -> int:
        return self._written

    def close(self) -> None:
        """Sync what was appended, then stop the writer (a server shutting down)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join()
        with self._lock:
            self._file.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            size = len(item[0])
            stop = False
            while size < MAX_GROUP_BYTES:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
                size += len(more[0])
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[tuple[bytes, Future[None]]]) -> None:
        data = b"".join(frame(payload) for payload, _ in group)
        with self._lock:
            try:
                self._file.write(data)
                self._written += len(data)
                self._file.flush()
                os.fdatasync(self._file.fileno())
            except OSError as exc:
                # Nothing of the group is acknowledged (the clients retry). What reached
                # the file is a torn tail, and records after it would be unreadable:
                # later groups go to a new segment.
                self._next_segment()
                failure: OSError | None = exc
            else:
                self.commits += 1
                failure = None
        for _, done in group:
            if failure is None:
                done.set_result(None)
            else:
                done.set_exception(failure)
