"""The collector's log of acknowledged requests, and its flush into the landed layout.

Each collector process claims a slot, ``$RINGSIDE_HOME/raw/wal/<n>/``, held by an
exclusive ``flock`` for the process's life, and writes its own write-ahead log there
(ingestion/wal.py). A record is one request's validated rows: the landed events and the
quarantined items, as JSON (Arrow tables are built when a segment lands). Every
``collector_flush_seconds`` (or sooner, after ``collector_flush_events`` events) the log
rotates and the closed segments land as Parquet, one file per event day (and per
received day for the quarantine) named after the segment, written atomically; only then
is the segment deleted. A crash between the two lands the segment again under the same
names: the files are replaced, not doubled.

On start a process replays the segments of its slot and of every slot no live process
holds (a worker that died, or fewer workers than before): nothing acknowledged is lost.
Each process also runs a compactor (ingestion/compaction.py); one at a time compacts.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.compaction import Compactor, segment_file_name
from ingestion.landing import by_day, land_events, land_quarantine
from ingestion.pipeline import Prepared
from ingestion.schema import QUARANTINE_SCHEMA, RAW_EVENT_SCHEMA
from ingestion.wal import WriteAheadLog, read_records, segments
from ringside.core.files import fsync_dir
from ringside.core.layout import Layout
from ringside.core.settings import Settings

PREFIX = "http"
LOG = logging.getLogger(__name__)
# Naive datetimes are UTC by the raw layer's convention (ingestion/landing.py).
JSON_OPTIONS = orjson.OPT_NAIVE_UTC


def encode(prepared: Prepared) -> bytes:
    """One request's rows as a log record: ``[event rows, quarantine rows]`` as JSON. The
    Arrow tables are built at landing, for a whole segment at once: a table per request
    cost more than validating the event."""
    return orjson.dumps([prepared.rows, prepared.quarantine.rows], option=JSON_OPTIONS)


def decode(payloads: Iterable[bytes]) -> tuple[pa.Table, pa.Table]:
    """Records -> (events, quarantine) tables of the raw schemas."""
    events: list[list[Any]] = [[] for _ in RAW_EVENT_SCHEMA]
    quarantine: list[list[Any]] = [[] for _ in QUARANTINE_SCHEMA]
    for payload in payloads:
        landed, rejected = orjson.loads(payload)
        _extend_columns(events, landed)
        _extend_columns(quarantine, rejected)
    return _table(events, RAW_EVENT_SCHEMA), _table(quarantine, QUARANTINE_SCHEMA)


def _extend_columns(columns: list[list[Any]], rows: list[list[Any]]) -> None:
    """Transposed record by record, so that a record's row lists die young. A segment's
    rows held as lists all at once (up to 100k of them, for as long as landing takes)
    outlived the garbage collector's young generations and made its full collections,
    paid by every request of the process, more frequent."""
    if rows:
        for column, values in zip(columns, zip(*rows, strict=True), strict=True):
            column += values


def _table(columns: list[list[Any]], schema: pa.Schema) -> pa.Table:
    arrays = []
    for field, values in zip(schema, columns, strict=True):
        if pa.types.is_timestamp(field.type):
            # RFC 3339 text back to the zone-less UTC timestamps it was.
            utc = pa.array(values, pa.string()).cast(pa.timestamp("us", tz="UTC"))
            arrays.append(utc.cast(field.type))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def land_segment(path: Path, layout: Layout) -> list[Path]:
    """Land a closed segment's records as Parquet, then delete it; returns the files."""
    events, quarantine = decode(read_records(path))
    name = segment_file_name(path)
    files: list[Path] = []
    if events.num_rows:
        files += land_events(events, _utc_days(events["event_time"]), layout, PREFIX, name=name)
    if quarantine.num_rows:
        files += [
            land_quarantine(rows, day, layout, PREFIX, name=name)
            for day, rows in by_day(quarantine, _utc_days(quarantine["received_at"]))
        ]
    path.unlink()
    fsync_dir(path.parent)
    return files


def _land_all(directory: Path, layout: Layout) -> None:
    """Land every segment of a slot no writer is appending to, oldest first."""
    for path in segments(directory):
        land_segment(path, layout)


def _utc_days(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.cast(column, pa.date32())


@dataclass(frozen=True)
class FlushPolicy:
    seconds: float
    events: int


class CollectorLog:
    """A process's slot: its write-ahead log and the thread that flushes it."""

    def __init__(
        self, layout: Layout, policy: FlushPolicy, compactor: Compactor | None = None
    ) -> None:
        self.layout = layout
        self.policy = policy
        self.compactor = compactor
        root = layout.collector_log_dir
        root.mkdir(parents=True, exist_ok=True)
        self.slot, self._lock_file = _claim_slot(root)
        self._flush_lock = threading.Lock()
        self._events_since_flush = 0
        self._wake = threading.Event()
        self._stopping = False
        # What a crashed process left, here and in slots nobody holds, lands first.
        for other in sorted(root.iterdir()):
            if other.is_dir() and other != self.directory:
                _replay_unheld(other, layout)
        _land_all(self.directory, layout)
        self._unlanded = 0  # bytes of closed segments not landed yet
        self.wal = WriteAheadLog(self.directory)
        # With seconds == 0 the collector lands after every request itself.
        self._flusher = threading.Thread(target=self._run, name="wal-flusher", daemon=True)
        if policy.seconds > 0:
            self._flusher.start()
        if compactor is not None:
            compactor.start()

    @property
    def directory(self) -> Path:
        return self.layout.collector_log_dir / str(self.slot)

    def append(self, payload: bytes, events: int) -> Future[None]:
        """Log a request's record; the future completes once it is durable."""
        done = self.wal.append(payload)
        self._events_since_flush += events
        if self._events_since_flush >= self.policy.events:
            self._wake.set()
        return done

    def flush(self) -> list[Path]:
        """Land everything logged so far (closing the current segment)."""
        with self._flush_lock:
            self._events_since_flush = 0
            if self.wal.current_bytes() == 0 and len(segments(self.directory)) == 1:
                return []  # nothing logged since the last flush
            closed = self.wal.rotate()
            sizes = [path.stat().st_size for path in closed]
            self._unlanded = sum(sizes)
            files: list[Path] = []
            for path, size in zip(closed, sizes, strict=True):
                files += land_segment(path, self.layout)
                self._unlanded -= size
            return files

    def pending_bytes(self) -> int:
        """Logged and not yet landed: what a crash would make the next start replay."""
        return self._unlanded + self.wal.current_bytes()

    def close(self) -> None:
        """Sync, land what is logged, release the slot."""
        self._stopping = True
        self._wake.set()
        if self._flusher.is_alive():
            self._flusher.join()
        if self.compactor is not None:
            self.compactor.stop()
        self.wal.close()
        with self._flush_lock:
            _land_all(self.directory, self.layout)
        fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        self._lock_file.close()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.policy.seconds)
            self._wake.clear()
            if self._stopping:
                return
            started = time.monotonic()
            try:
                self.flush()
            except Exception:
                # The segments stay and the next flush retries them; meanwhile
                # pending_bytes grows (health) until back-pressure refuses requests.
                LOG.exception("landing the collector's log failed; retrying")
                self._wake.wait(max(0.0, 1.0 - (time.monotonic() - started)))


def logged_bytes(layout: Layout) -> dict[int, int]:
    """Bytes logged and not landed, per slot, as on disk (every collector process)."""
    root = layout.collector_log_dir
    if not root.exists():
        return {}
    return {
        int(slot.name): sum(path.stat().st_size for path in segments(slot))
        for slot in root.iterdir()
        if slot.is_dir() and slot.name.isdigit()
    }


_OPEN: dict[Path, CollectorLog] = {}
_OPEN_LOCK = threading.Lock()


def open_log(settings: Settings) -> CollectorLog:
    """This process's log for the settings' home, started on first use (the app's startup)."""
    with _OPEN_LOCK:
        log = _OPEN.get(settings.home)
        if log is None:
            policy = FlushPolicy(settings.collector_flush_seconds, settings.collector_flush_events)
            compactor = (
                Compactor(settings.layout, settings.compaction_seconds, settings.compaction_rows)
                if settings.compaction_seconds > 0
                else None
            )
            log = _OPEN[settings.home] = CollectorLog(settings.layout, policy, compactor)
        return log


def close_logs() -> None:
    """Land what every log of this process holds and release their slots (shutdown)."""
    with _OPEN_LOCK:
        for log in _OPEN.values():
            log.close()
        _OPEN.clear()


def _claim_slot(root: Path) -> tuple[int, IO[bytes]]:
    """The lowest slot no live process holds, locked for this process's life."""
    slot = 0
    while True:
        directory = root / str(slot)
        directory.mkdir(exist_ok=True)
        handle = open(directory / ".lock", "ab")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            slot += 1
            continue
        return slot, handle


def _replay_unheld(directory: Path, layout: Layout) -> None:
    with open(directory / ".lock", "ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a live process owns it
        try:
            _land_all(directory, layout)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
