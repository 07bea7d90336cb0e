"""Compaction: a partition's small landed files merged into files of up to N rows.

The collector lands a file per flush and process (every 10 s: ~17k files a day with two
workers) and batch ingestion one per 50k-line chunk and day; a build reading thousands
of small files is several times slower than over a few large ones (RESULTS.md). The
compactor merges, per partition (an event day, a quarantine received day), the files
under ``target_rows`` rows into files of ``target_rows`` rows (the last one shorter),
written in row groups of DuckDB's size so a build still reads a file in parallel.

What may be merged together. A build records per day the newest file it read (its mark,
ringside/core/build_state.py) and next reads only newer files. A merged file gets the newest
modification time of its parts, and only files on the same side of every database's
mark are merged together, so every database reads exactly the rows it would have read
from the parts: nothing twice, nothing missed.

How often a file is rewritten. A partition's largest small file joins a merge only when
the others add a tenth of its rows, or once the partition has been quiet for an hour;
until then the others are merged among themselves. Each row is rewritten a few times
on its way to a full file, not at every pass.

Never a half state. Merged files are written under temporary names (no ``*.parquet``
glob matches them) and fsynced, outside any lock. Then, holding the raw lock
exclusively (no reader has a listing open, ringside/core/raw_lock.py): a journal naming the
renames and the parts is written durably, the merged files are renamed into place and
given their modification time, the parts deleted, and the journal removed. A crash
after the journal rolls forward at the next pass (``recover``); before it, the
temporary files are orphans, removed like any killed writer's. A crash between the
renames and the deletions leaves events twice for a while: staging keeps the first copy
by messageId, as for any re-landed file.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
import uuid
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from ingestion.schema import QUARANTINE_SCHEMA, RAW_EVENT_SCHEMA
from ingestion.wal import segments
from ringside.core.build_state import consumed_marks
from ringside.core.files import durable_temp, fsync_dir, temp_path, unique_name
from ringside.core.layout import Layout
from ringside.core.raw_lock import replacing_raw

PREFIX = "compact"
# DuckDB's own row-group size: a build reads a merged file's groups in parallel.
ROW_GROUP_ROWS = 122_880
# The largest small file is rewritten only when a merge grows it by this much...
GROWTH = 0.1
# ...or once its partition has received nothing for this long.
QUIET_SECONDS = 3600.0
LOG = logging.getLogger(__name__)


def segment_file_name(segment: Path) -> str:
    """The name a collector log segment lands under, in each partition it has rows for
    (ingestion/collector_log.py): landing it again replaces the same files."""
    return f"http-{segment.stem}.parquet"


def _replayable(layout: Layout) -> set[str]:
    """Landed file names a replay could write again: their segment is not deleted yet
    (landing finishes before the segment goes; a crash between the two replays it).
    Merging such a file would let the replay land its rows a second time."""
    root = layout.collector_log_dir
    if not root.exists():
        return set()
    return {segment_file_name(path) for slot in root.iterdir() for path in segments(slot)}


@dataclass(frozen=True)
class Part:
    path: Path
    mtime: float
    rows: int


@dataclass(frozen=True)
class Partition:
    directory: Path
    schema: pa.Schema
    marks: Callable[[], list[float]]  # read again just before the swap


@dataclass
class CompactionReport:
    skipped: bool = False  # another process was compacting
    recovered: int = 0  # swaps a crash interrupted, finished
    merges: int = 0
    files_in: int = 0
    files_out: int = 0
    rows: int = 0
    deferred: int = 0  # merges given up (readers held the files, or a build moved a mark)
    seconds: float = 0.0
    partitions: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.skipped:
            return "compaction: another process is compacting"
        return (
            f"compaction: {self.files_in} files -> {self.files_out} ({self.rows:,} rows) in "
            f"{self.merges} merges, {self.deferred} deferred, {self.recovered} recovered, "
            f"{self.seconds:.1f} s"
        )


class Journal(BaseModel):
    """A swap about to happen: enough to finish it after a crash."""

    directory: str
    renames: list[tuple[str, str]]  # temporary name -> final name, in `directory`
    parts: list[str]  # file names in `directory` the merged files replace
    mtime: float  # the merged files' modification time


def compact(
    layout: Layout,
    target_rows: int,
    lock_timeout_seconds: float,
    stopping: Callable[[], bool] = lambda: False,
) -> CompactionReport:
    """One pass over every partition (until ``stopping()``); returns what it did. One
    process at a time: another one's pass returns ``skipped``."""
    started = time.monotonic()
    with _compactor_lock(layout) as mine:
        if not mine:
            return CompactionReport(skipped=True)
        report = CompactionReport(recovered=recover(layout, lock_timeout_seconds, stopping))
        for partition in partitions(layout):
            if stopping():
                break
            for group in _groups(partition, target_rows, time.time(), layout):
                _merge(
                    layout, partition, group, target_rows, report, lock_timeout_seconds, stopping
                )
        report.seconds = time.monotonic() - started
        return report


def partitions(layout: Layout) -> Iterator[Partition]:
    """Every event day (with the build marks of its day) and every quarantine day."""
    for day in layout.landed_event_files():
        yield Partition(
            layout.raw_events_partition(day),
            RAW_EVENT_SCHEMA,
            lambda day=day: consumed_marks(layout).get(day.isoformat(), []),
        )
    for directory in sorted(layout.quarantine_dir.glob("received_date=*")):
        yield Partition(directory, QUARANTINE_SCHEMA, lambda: [])


def recover(
    layout: Layout, lock_timeout_seconds: float, stopping: Callable[[], bool] = lambda: False
) -> int:
    """Finish the swaps a crash interrupted; returns how many."""
    journals = sorted(layout.compaction_dir.glob("*.json"))
    if not journals:
        return 0
    with replacing_raw(layout, lock_timeout_seconds, stopping) as held:
        if not held:
            return 0
        for path in journals:
            _apply(Journal.model_validate_json(path.read_bytes()))
            path.unlink()
    return len(journals)


def _groups(
    partition: Partition, target_rows: int, now: float, layout: Layout
) -> Iterator[list[Part]]:
    """The sets of small files to merge, each on one side of every build mark."""
    small = []
    files = sorted(partition.directory.glob("*.parquet"))
    # Listed after the files: a file seen whose segment is gone then can never land again.
    replayable = _replayable(layout)
    for path in files:
        if path.name in replayable:
            continue
        try:
            meta = pq.ParquetFile(path)
            mtime = path.stat().st_mtime
        except FileNotFoundError:  # replaced by a replayed landing meanwhile
            continue
        except (OSError, pa.ArrowInvalid) as exc:  # not Parquet: left for a person to see
            LOG.warning("not compacting %s: %s", path, exc)
            continue
        # A file of another schema (landed by an older version) is left as it is.
        if meta.metadata.num_rows < target_rows and meta.schema_arrow.equals(
            partition.schema, check_metadata=False
        ):
            small.append(Part(path, mtime, meta.metadata.num_rows))
    if len(small) < 2:
        return
    quiet = now - max(part.mtime for part in small) >= QUIET_SECONDS
    marks = partition.marks()
    sides: dict[int, list[Part]] = {}
    for part in sorted(small, key=lambda part: (part.mtime, part.path.name)):
        sides.setdefault(bisect_left(marks, part.mtime), []).append(part)
    for parts in sides.values():
        largest = max(parts, key=lambda part: part.rows)
        others = [part for part in parts if part is not largest]
        grows = sum(part.rows for part in others) >= GROWTH * largest.rows
        chosen = parts if quiet or grows else others
        if len(chosen) >= 2:
            yield chosen


def _merge(
    layout: Layout,
    partition: Partition,
    parts: list[Part],
    target_rows: int,
    report: CompactionReport,
    lock_timeout_seconds: float,
    stopping: Callable[[], bool],
) -> None:
    directory = partition.directory
    renames = _write_merged(parts, directory, partition.schema, target_rows)
    journal = Journal(
        directory=str(directory),
        renames=[(temp.name, final) for temp, final in renames],
        parts=[part.path.name for part in parts],
        mtime=max(part.mtime for part in parts),
    )
    with replacing_raw(layout, lock_timeout_seconds, stopping) as held:
        if held and _unchanged(parts, partition.marks()):
            journal_path = layout.compaction_dir / f"{uuid.uuid4().hex}.json"
            _write_durably(journal_path, journal.model_dump_json().encode())
            _apply(journal)
            journal_path.unlink()
            report.merges += 1
            report.files_in += len(parts)
            report.files_out += len(renames)
            report.rows += sum(part.rows for part in parts)
            report.partitions.append(directory.name)
            return
    for temp, _ in renames:
        temp.unlink(missing_ok=True)
    report.deferred += 1


def _unchanged(parts: list[Part], marks: list[float]) -> bool:
    """The parts are as planned and still on one side of every mark (a build that
    finished meanwhile may have read some of them)."""
    for part in parts:
        try:
            if part.path.stat().st_mtime != part.mtime:
                return False
        except FileNotFoundError:
            return False
    oldest = min(part.mtime for part in parts)
    newest = max(part.mtime for part in parts)
    return not any(oldest <= mark < newest for mark in marks)


def _apply(journal: Journal) -> None:
    """Rename the merged files into place, date them, delete the parts. Idempotent: a
    crash anywhere in it is finished by running it again."""
    directory = Path(journal.directory)
    finals = [directory / final for _, final in journal.renames]
    for (temp, _), final in zip(journal.renames, finals, strict=True):
        if (directory / temp).exists():
            os.replace(directory / temp, final)
    if not all(final.exists() for final in finals):
        # A merged file is gone (removed by hand): the parts hold every row, keep them.
        LOG.warning("compaction of %s incomplete; keeping its %d parts", directory, len(finals))
        for final in finals:
            final.unlink(missing_ok=True)
        fsync_dir(directory)
        return
    for final in finals:
        os.utime(final, (journal.mtime, journal.mtime))
    fsync_dir(directory)
    for part in journal.parts:
        (directory / part).unlink(missing_ok=True)
    fsync_dir(directory)


def _write_merged(
    parts: list[Part], directory: Path, schema: pa.Schema, target_rows: int
) -> list[tuple[Path, str]]:
    """The parts' rows, in order, as durable temporary files of ``target_rows`` rows
    (the last shorter); returns (temporary path, final name) pairs."""
    files: list[tuple[Path, str]] = []
    buffer: list[pa.Table] = []
    buffered = room = 0
    current = ExitStack()  # the file being written
    writer: pq.ParquetWriter | None = None
    try:
        for part in parts:
            table = pq.read_table(part.path, schema=schema)
            while table.num_rows:
                if writer is None:
                    final = unique_name(PREFIX)
                    files.append((temp_path(directory, final), final))
                    current = ExitStack()
                    writer = current.enter_context(durable_temp(files[-1][0], schema))
                    room = target_rows
                take = min(table.num_rows, room)
                buffer.append(table.slice(0, take))
                table = table.slice(take)
                buffered += take
                room -= take
                if buffered >= ROW_GROUP_ROWS or room == 0:
                    writer.write_table(pa.concat_tables(buffer), row_group_size=ROW_GROUP_ROWS)
                    buffer, buffered = [], 0
                if room == 0:
                    current.close()
                    writer = None
        if writer is not None:
            if buffered:
                writer.write_table(pa.concat_tables(buffer), row_group_size=ROW_GROUP_ROWS)
            current.close()
    except BaseException as exc:
        # Every temporary file goes, the finished ones too.
        with contextlib.suppress(Exception):
            current.__exit__(type(exc), exc, exc.__traceback__)
        for temp, _ in files:
            temp.unlink(missing_ok=True)
        raise
    return files


def _write_durably(path: Path, data: bytes) -> None:
    """Whole or not at all, and synced: a journal present is a complete one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)


@contextmanager
def _compactor_lock(layout: Layout) -> Iterator[bool]:
    """True when this process is the one compacting now (workers each try)."""
    layout.compaction_dir.mkdir(parents=True, exist_ok=True)
    with open(layout.compaction_dir / "compactor.lock", "ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Compactor:
    """A thread compacting every ``seconds`` (the first pass right away: it also
    finishes what a crash interrupted) until ``stop``."""

    def __init__(self, layout: Layout, seconds: float, target_rows: int) -> None:
        self.layout = layout
        self.seconds = seconds
        self.target_rows = target_rows
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="compactor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Waits for the merge under way (a pass stops between merges)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = compact(
                    self.layout, self.target_rows, self.seconds, stopping=self._stop.is_set
                )
                if report.merges or report.recovered:
                    LOG.info(report.summary())
            except Exception:
                LOG.exception("compaction failed; the files stay as they are until the next pass")
            self._stop.wait(self.seconds)
