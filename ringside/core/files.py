"""Files written whole: a reader sees a file complete or not at all.

Two kinds: small files replaced whole (state, manifests; :func:`replace_file`) and
Parquet files that appear atomically and durably (:func:`atomic_parquet`,
:func:`write_table`): every one is written under a temporary name in its final
directory, flushed and fsynced, renamed into place and the directory fsynced, so a
reader (dbt, DuckDB globs) never sees half a file and a file whose write returned
survives a crash. Temporary names start with a dot and end in ``.tmp`` so
``*.parquet`` globs never match them; final names carry a uuid4, so concurrent writers
never collide. Landing (ingestion/), compaction, the ML store and KPI targets all write
through here.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a uniquely named temporary file beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


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


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def unique_name(prefix: str) -> str:
    return f"{prefix}-{stamp(datetime.now(UTC))}-{uuid.uuid4().hex}.parquet"


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
    # a build that saw a newer file saw this one (ringside/core/build_state.py).
    os.utime(final)
    fsync_dir(directory)


def write_table(table: pa.Table, directory: Path, name: str) -> Path:
    with atomic_parquet(directory, name, table.schema) as writer:
        writer.write_table(table)
    return directory / name
