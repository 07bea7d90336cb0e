"""The built warehouse: serving a build to readers, and the one way to read it.

:func:`serve` hands a successful build to readers and :func:`open_reader` is how every
consumer reads the marts (API routes, the query engine, reports, alerts, quality checks,
ML inputs), on either engine. On PostgreSQL, MVCC lets readers (the read-only role)
query while dbt writes, so there is nothing to copy; processes that read often (the API)
keep a pool of reader connections (:func:`keep_connections`), the others open one per
read.

dbt is the only writer of the DuckDB database it builds, and DuckDB locks a database
file exclusively across processes (stack.md, trap 4), so readers never open it while a
build runs. There are two databases (generations, ringside/core/build_state.py): dbt builds
the one readers are not using, and :func:`publish` points ``layout.serving_path`` (a
link) at it. Readers open the served link read-only per request; a reader that opened
the previous generation keeps reading it; nothing is copied.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from threading import BoundedSemaphore, Lock

import duckdb
import pandas as pd
import psycopg2
import psycopg2.errors
from psycopg2.pool import ThreadedConnectionPool

from ringside.core import postgres
from ringside.core.files import replace_file
from ringside.core.layout import Layout
from ringside.core.readers import DuckDBReader, PostgresReader, Reader
from ringside.core.settings import Settings


class WarehouseNotBuiltError(RuntimeError):
    """The served warehouse does not exist yet (nothing has been built)."""


def serve(settings: Settings, generation: str) -> None:
    """Hand a successful build to the readers: point the serving link at the DuckDB
    generation dbt built, or grant the PostgreSQL reader role SELECT on what dbt
    (re)created; then stamp a new data version (report caches key on it)."""
    if settings.warehouse == "postgres":
        postgres.grant_reader(settings)
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


class WarehouseUnavailableError(RuntimeError):
    """The PostgreSQL warehouse does not accept the reader's connections."""


@contextmanager
def open_reader(settings: Settings) -> Iterator[Reader]:
    """A read-only reader of the served marts, closed on exit: the published DuckDB
    generation, or a session as the PostgreSQL reader role with the marts' schema on the
    search path. Raises :class:`WarehouseNotBuiltError` while nothing has been built and
    :class:`WarehouseUnavailableError` when PostgreSQL refuses the connection."""
    if settings.warehouse == "duckdb":
        with read_serving(settings.layout) as con:
            yield DuckDBReader(con)
        return
    try:
        with _reader_connection(settings) as con:
            yield PostgresReader(con)
    except psycopg2.errors.UndefinedTable as exc:
        raise WarehouseNotBuiltError(
            f"the marts are not in schema {settings.pg_schema!r} of PostgreSQL database "
            f"{settings.pg_database!r} ({exc.diag.message_primary}); run `ringside build` first"
        ) from exc
    except psycopg2.OperationalError as exc:
        raise WarehouseUnavailableError(
            f"the PostgreSQL warehouse is unavailable: {str(exc).strip()}"
        ) from exc


def read_frame(
    settings: Settings, sql: str, params: Mapping[str, object] | None = None
) -> pd.DataFrame:
    """``sql`` (unqualified model names, ``$name`` parameters) over the served marts, as
    a DataFrame: :func:`open_reader` for one query."""
    with open_reader(settings) as reader:
        return reader.frame(sql, params)


# Reader connections kept per process once keep_connections() was called. FastAPI runs
# sync routes on up to 40 threads; psycopg2's pool raises instead of waiting when it is
# exhausted, so a semaphore makes requests queue.
POOL_SIZE = 8


class _Pool:
    def __init__(self, settings: Settings) -> None:
        self.connections = ThreadedConnectionPool(
            # psycopg2 keeps only `minconn` connections when they are returned (it closes
            # the rest), so both bounds are the pool size: opened now, all reused.
            POOL_SIZE,
            POOL_SIZE,
            **postgres.connection_kwargs(settings, reader=True),
            # The marts are unqualified in every reader's SQL.
            options=f"-c search_path={settings.pg_schema}",
        )
        self.slots = BoundedSemaphore(POOL_SIZE)

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        with self.slots:
            con = self.connections.getconn()
            try:
                # Beside the reader role's grants: a read-only session cannot write even
                # where a grant is too wide.
                con.set_session(readonly=True)
                yield con
            finally:
                # Rolled back before reuse, so no request inherits another's transaction
                # (or its error state); a broken connection is discarded.
                broken = con.closed != 0
                if not broken:
                    try:
                        con.rollback()
                    except psycopg2.Error:
                        broken = True
                self.connections.putconn(con, close=broken)


_pools: dict[tuple[tuple[str, object], ...], _Pool] | None = None
_pools_lock = Lock()


def keep_connections() -> None:
    """From now on, this process reads PostgreSQL through pools of reader connections
    (one pool per settings, opened on first use) instead of a connection per read: for
    long-lived processes that read often (the API). Other processes (Dagster steps, the
    CLI, tests) hold no idle connection, so nothing blocks dropping a database."""
    global _pools
    with _pools_lock:
        if _pools is None:
            _pools = {}


def close_pools() -> None:
    """Close every pooled connection and stop pooling (app shutdown)."""
    global _pools
    with _pools_lock:
        for pool in (_pools or {}).values():
            pool.connections.closeall()
        _pools = None


@contextmanager
def _reader_connection(settings: Settings) -> Iterator[psycopg2.extensions.connection]:
    with _pools_lock:
        pools = _pools
        if pools is not None:
            key = (
                *sorted(postgres.connection_kwargs(settings, reader=True).items()),
                ("schema", settings.pg_schema),
            )
            if key not in pools:
                pools[key] = _Pool(settings)
            pool = pools[key]
    if pools is None:
        with postgres.read_only(settings) as con:
            yield con
        return
    with pool.connection() as con:
        yield con
