"""Append-only landing of raw data: events into their UTC event-day partition,
quarantine by received day, snapshots whole. Every file is written atomically and
durably through :mod:`ringside.core.files`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ringside.core.files import atomic_parquet, stamp, unique_name, write_table
from ringside.core.layout import SNAPSHOT_NAMES, Layout

# A temporary file untouched this long has no writer left (see remove_orphaned_temp_files).
ORPHAN_GRACE_SECONDS = 3600.0


def rows_to_table(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """Row tuples (in schema order) -> a table. Tuples are the cheapest per-row
    structure; they are transposed once into the column lists Arrow converts in bulk.

    Aware datetimes may be passed for the zone-less ``TS`` columns: Arrow converts them
    to UTC, the storage convention (naive ones are stored as they are)."""
    columns = zip(*rows, strict=True)
    return pa.Table.from_pydict(dict(zip(schema.names, columns, strict=True)), schema=schema)


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
    file_name = f"{name}-{stamp(taken_at)}-{uuid.uuid4().hex[:8]}.parquet"
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
