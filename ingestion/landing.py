"""Atomic, append-only Parquet landing.

Every file is written under a temporary name in its final directory, flushed and
fsynced, renamed into place and the directory fsynced: a reader (dbt, DuckDB globs)
sees a file either complete or not at all, and a file whose write returned survives a
crash. Temporary names start with a dot and end in ``.tmp`` so ``*.parquet`` globs
never match them. Final names carry a uuid4, so concurrent writers never collide.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ringside.layout import SNAPSHOT_NAMES, Layout

COMPRESSION = "zstd"
# A temporary file untouched this long has no writer left (see remove_orphaned_temp_files).
ORPHAN_GRACE_SECONDS = 3600.0


def fsync_dir(directory: Path) -> None:
    """Make a directory's entries (a created or renamed file) survive a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ensure_dir(directory: Path) -> None:
    """Create the directory durably: a new partition directory must survive a crash too."""
    if directory.is_dir():
        return
    _ensure_dir(directory.parent)
    directory.mkdir(exist_ok=True)
    fsync_dir(directory.parent)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def unique_name(prefix: str) -> str:
    return f"{prefix}-{_stamp(datetime.now(UTC))}-{uuid.uuid4().hex}.parquet"


def temp_path(directory: Path, name: str) -> Path:
    """Where ``name`` is written before it appears: a dot name ending in ``.tmp``."""
    return directory / f".{name}.{uuid.uuid4().hex}.tmp"


@contextmanager
def durable_temp(temp: Path, schema: pa.Schema, **options: Any) -> Iterator[pq.ParquetWriter]:
    """A Parquet writer into ``temp``, flushed and fsynced when the block ends; on error
    the file is removed. Renaming it into place is the caller's step."""
    _ensure_dir(temp.parent)
    try:
        with open(temp, "wb") as sink:
            with pq.ParquetWriter(sink, schema, compression=COMPRESSION, **options) as writer:
                yield writer
            sink.flush()
            os.fsync(sink.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_parquet(directory: Path, name: str, schema: pa.Schema) -> Iterator[pq.ParquetWriter]:
    """A Parquet writer whose file appears at ``directory/name`` only when the block
    ends without an exception (and is durable by then); on error nothing is left."""
    final = directory / name
    temp = temp_path(directory, name)
    with durable_temp(temp, schema) as writer:
        yield writer
    try:
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    # The modification time says when the file became visible, not when writing began:
    # a build that saw a newer file saw this one (ringside/build_state.py).
    os.utime(final)
    fsync_dir(directory)


def rows_to_table(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Row tuples (in schema order) -> a table. Tuples are the cheapest per-row
    structure; they are transposed once into the column lists Arrow converts in bulk.

    Aware datetimes may be passed for the zone-less ``TS`` columns: Arrow converts them
    to UTC, the storage convention (naive ones are stored as they are)."""
    columns = zip(*rows, strict=True)
    return pa.Table.from_pydict(dict(zip(schema.names, columns, strict=True)), schema=schema)


def write_table(table: pa.Table, directory: Path, name: str) -> Path:
    with atomic_parquet(directory, name, table.schema) as writer:
        writer.write_table(table)
    return directory / name


def by_day(table: pa.Table, days: pa.Array | pa.ChunkedArray) -> list[tuple[date, pa.Table]]:
    """The rows of each day (``days[i]``, date32, is row i's), in day order. Grouped by
    Arrow: a Python date per row cost more than writing the Parquet."""
    unique = pc.unique(days).to_pylist()
    if len(unique) == 1:  # the usual case: no copy
        return [(unique[0], table)]
    return [
        (day, table.filter(pc.equal(days, pa.scalar(day, pa.date32())))) for day in sorted(unique)
    ]


def land_events(
    table: pa.Table,
    event_days: pa.Array | pa.ChunkedArray,
    layout: Layout,
    prefix: str,
    name: str | None = None,
) -> list[Path]:
    """One file per UTC event day (``event_days[i]``, date32, is row i's) in its
    partition, named ``name`` in each (landing the same rows again replaces them), or
    uniquely."""
    return [
        write_table(rows, layout.raw_events_partition(day), name or unique_name(prefix))
        for day, rows in by_day(table, event_days)
    ]


def land_quarantine(
    table: pa.Table, received_day: date, layout: Layout, prefix: str, name: str | None = None
) -> Path:
    directory = layout.quarantine_partition(received_day)
    return write_table(table, directory, name or unique_name(prefix))


@contextmanager
def snapshot_writer(
    name: str, layout: Layout, taken_at: datetime, schema: pa.Schema
) -> Iterator[pq.ParquetWriter]:
    """Stream a whole snapshot into one file: dbt treats the newest ``snapshot_at`` as the
    current state, so a snapshot must never be visible half-written."""
    file_name = f"{name}-{_stamp(taken_at)}-{uuid.uuid4().hex[:8]}.parquet"
    with atomic_parquet(layout.snapshot_dir(name), file_name, schema) as writer:
        yield writer


def remove_orphaned_temp_files(
    layout: Layout, older_than_seconds: float = ORPHAN_GRACE_SECONDS
) -> list[Path]:
    """Delete the temporary files killed writers left under the raw directories (a
    ``kill -9`` skips the cleanup of :func:`atomic_parquet`); returns them.

    Only files not modified for ``older_than_seconds`` go: a live writer keeps its
    temporary file's modification time recent as row groups reach it, and writers hold
    no lock that could tell a live file from an orphan, so age is the safe signal. An
    hour is far longer than any batch or snapshot takes to write."""
    cutoff = time.time() - older_than_seconds
    roots = [layout.raw_events_dir, layout.quarantine_dir]
    roots += [layout.snapshot_dir(name) for name in SNAPSHOT_NAMES]
    removed = []
    for root in roots:
        for temp in root.rglob(".*.tmp"):
            try:
                if temp.stat().st_mtime < cutoff:
                    temp.unlink()
                    removed.append(temp)
            except FileNotFoundError:  # its writer renamed or removed it meanwhile
                continue
    return removed
