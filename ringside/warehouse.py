"""The warehouse around a dbt build: sources before it, serving after it.

:func:`prepare_sources` and :func:`serve` pick the engine from the settings; on
PostgreSQL the loaded raw tables are the sources and MVCC lets readers (the read-only
role) query while dbt writes, so there is nothing to copy. The rest of this module is
the embedded (DuckDB) warehouse: source placeholders, publishing, read-only access.

dbt is the only writer of the DuckDB database it builds, and DuckDB locks a database
file exclusively across processes (stack.md, trap 4), so readers never open it while a
build runs. There are two databases (generations, ringside/build_state.py): dbt builds
the one readers are not using, and :func:`publish` points ``layout.serving_path`` (a
link) at it. Readers open the served link read-only per request; a reader that opened
the previous generation keeps reading it; nothing is copied.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from glob import glob
from pathlib import Path

import duckdb
import pandas as pd
from psycopg2 import sql as pgsql

from ingestion.landing import write_table
from ingestion.postgres_load import load_snapshots
from ingestion.schema import RAW_EVENT_SCHEMA, SNAPSHOT_SCHEMAS
from ringside import postgres
from ringside.bi.kpis import export_targets
from ringside.files import replace_file
from ringside.insights.sql import DuckDBReader, PostgresReader, Reader
from ringside.layout import PLACEHOLDER_DAY, Layout
from ringside.postgres import grant_reader
from ringside.settings import Settings

PLACEHOLDER_NAME = "_empty.parquet"


class WarehouseNotBuiltError(RuntimeError):
    """The served warehouse does not exist yet (nothing has been built)."""


def prepare_sources(settings: Settings) -> None:
    """Make every dbt source readable before a build. Event days are loaded into
    PostgreSQL by the ``tracking/events`` asset; snapshots are loaded here, after the
    current KPI targets were written as one."""
    export_targets(settings)
    if settings.warehouse == "postgres":
        load_snapshots(settings)
    else:
        ensure_sources(settings.layout)


def serve(settings: Settings, generation: str) -> None:
    """Hand a successful build to the readers: point the serving link at the DuckDB
    generation dbt built, or grant the PostgreSQL reader role SELECT on what dbt
    (re)created; then stamp a new data version (report caches key on it)."""
    if settings.warehouse == "postgres":
        grant_reader(settings)
    else:
        publish(settings.layout, generation)
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4().hex[:8]}"
    replace_file(settings.layout.data_version_path, stamp.encode())


def data_version(settings: Settings) -> str | None:
    """The version of the data readers see: a new one after every successful build;
    None before the first."""
    try:
        return settings.layout.data_version_path.read_text().strip() or None
    except FileNotFoundError:
        return None


@contextmanager
def open_reader(settings: Settings) -> Iterator[Reader]:
    """A read-only reader of the served marts outside the API (scheduled reports): the
    published DuckDB copy, or a connection as the PostgreSQL reader role."""
    if settings.warehouse == "duckdb":
        with read_serving(settings.layout) as con:
            yield DuckDBReader(con)
        return
    with postgres.read_only(settings) as con:
        yield PostgresReader(con)


def ensure_sources(layout: Layout) -> None:
    """Give every dbt source at least one (empty) file, so a source with no data yet
    reads as zero rows instead of failing the build with 'no files found'."""
    layout.ensure()
    if not glob(layout.raw_events_glob):
        write_table(
            RAW_EVENT_SCHEMA.empty_table(),
            layout.raw_events_partition(PLACEHOLDER_DAY),
            PLACEHOLDER_NAME,
        )
    for name, schema in SNAPSHOT_SCHEMAS.items():
        if not glob(layout.snapshot_glob(name)):
            write_table(schema.empty_table(), layout.snapshot_dir(name), PLACEHOLDER_NAME)


def publish(layout: Layout, generation: str) -> None:
    """Atomically point the serving link at the freshly built generation."""
    layout.serving_path.parent.mkdir(parents=True, exist_ok=True)
    # Relative, so a home can be moved or mounted elsewhere.
    relative = os.path.relpath(layout.generation_path(generation), layout.serving_path.parent)
    scratch = layout.serving_path.with_name(f".{uuid.uuid4().hex}.link.tmp")
    os.symlink(relative, scratch)
    os.replace(scratch, layout.serving_path)
    dir_fd = os.open(layout.serving_path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def wait_for_writers(path: Path, timeout_seconds: float = 120.0) -> None:
    """Wait until no reader holds the generation about to be built (a reader that
    opened it while it was served, e.g. a long report), so dbt can lock it."""
    if not path.exists():
        return
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            duckdb.connect(str(path)).close()
            return
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def served_path(layout: Layout) -> Path:
    """The published DuckDB copy; `WarehouseNotBuiltError` before the first build."""
    if not layout.serving_path.exists():
        raise WarehouseNotBuiltError(
            f"no warehouse published at {layout.serving_path}; run `ringside build` first"
        )
    return layout.serving_path


@contextmanager
def read_serving(layout: Layout) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the published warehouse, closed on exit."""
    con = duckdb.connect(str(served_path(layout)), read_only=True)
    try:
        yield con
    finally:
        con.close()


def read_frame(settings: Settings, sql: str) -> pd.DataFrame:
    """Run a query over the built warehouse (unqualified model names) into a DataFrame.

    DuckDB: the served generation, read-only (quality checks and models run after the
    build published it).
    On PostgreSQL the query sees the committed build (MVCC) through dbt's schema on the
    search path.
    """
    if settings.warehouse == "duckdb":
        with duckdb.connect(str(served_path(settings.layout)), read_only=True) as con:
            return con.sql(sql).df()
    con = postgres.connect(settings)
    try:
        with con.cursor() as cur:
            cur.execute(
                pgsql.SQL("set search_path to {}").format(pgsql.Identifier(settings.pg_schema))
            )
            cur.execute(sql)
            columns = [column.name for column in cur.description]
            # coerce_float: numeric columns arrive as Decimal, which GE compares poorly.
            return pd.DataFrame.from_records(cur.fetchall(), columns=columns, coerce_float=True)
    finally:
        con.close()
