"""Reads from the warehouse for the routers: the published DuckDB copy, or the PostgreSQL
warehouse through a pool of read-only connections (``RINGSIDE_WAREHOUSE``).

Routes write their SQL once, with ``$name`` parameters, and run it through a
:class:`~ringside.insights.sql.Reader`, which adapts it to the engine.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from threading import BoundedSemaphore, Lock
from typing import Any

import psycopg2
import psycopg2.errors
from fastapi import HTTPException
from psycopg2.pool import ThreadedConnectionPool

from api.deps import Page
from api.errors import invalid
from ringside.insights.sql import DuckDBReader, PostgresReader, QueryError, Reader
from ringside.postgres import connection_kwargs
from ringside.reports.definition import ReportQuery
from ringside.reports.results import ReportResult, run_report
from ringside.settings import Settings
from ringside.warehouse import WarehouseNotBuiltError, data_version, read_serving

# Connections per process. FastAPI runs sync routes on up to 40 threads; psycopg2's pool
# raises instead of waiting when it is exhausted, so a semaphore makes requests queue.
POOL_SIZE = 8


class _Pool:
    def __init__(self, settings: Settings) -> None:
        self.connections = ThreadedConnectionPool(
            # psycopg2 keeps only `minconn` connections when they are returned (it closes
            # the rest), so both bounds are the pool size: opened now, all reused.
            POOL_SIZE,
            POOL_SIZE,
            **connection_kwargs(settings, reader=True),
            # The marts are unqualified in the routes' and the engine's SQL.
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


class WarehouseUnavailableError(RuntimeError):
    """The PostgreSQL warehouse does not accept the reader's connections."""


_pools: dict[tuple[tuple[str, object], ...], _Pool] = {}
_pools_lock = Lock()


def _pool(settings: Settings) -> _Pool:
    """The process's pool for these settings' reader connection, created on first use."""
    key = (
        *sorted(connection_kwargs(settings, reader=True).items()),
        ("schema", settings.pg_schema),
    )
    with _pools_lock:
        if key not in _pools:
            _pools[key] = _Pool(settings)
        return _pools[key]


def close_pools() -> None:
    """Close every pooled connection (app shutdown)."""
    with _pools_lock:
        for pool in _pools.values():
            pool.connections.closeall()
        _pools.clear()


@contextmanager
def _postgres(settings: Settings) -> Iterator[Reader]:
    try:
        with _pool(settings).connection() as con:
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


@contextmanager
def warehouse(settings: Settings) -> Iterator[Reader]:
    """A read-only reader of the warehouse: 503 while nothing has been built, 422 with
    the engine's reason when a query is invalid (the reason names the parameter)."""
    try:
        if settings.warehouse == "postgres":
            with _postgres(settings) as reader:
                yield reader
        else:
            with read_serving(settings.layout) as con:
                yield DuckDBReader(con)
    except (WarehouseNotBuiltError, WarehouseUnavailableError) as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    except QueryError as exc:
        raise invalid("query", "", str(exc)) from exc


def fetch_rows(settings: Settings, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of a parameterized query as dicts."""
    with warehouse(settings) as reader:
        return reader.rows(sql, params)


def report_result(settings: Settings, query: ReportQuery) -> ReportResult:
    """A report's rows on the served build (cached per definition and data version)."""
    with warehouse(settings) as reader:
        return run_report(reader, query, data_version(settings))


def fetch_page(
    settings: Settings,
    ctes: str,
    params: dict[str, Any],
    *,
    sort: str,
    tie_breaker: str,
    page: Page,
) -> tuple[int, list[dict[str, Any]]]:
    """Total count and one sorted page of the `filtered` relation that ``ctes`` define.

    ``sort`` and ``tie_breaker`` are column names from the router's allow-list, never
    client text; every value travels as a bound parameter."""
    (count,) = fetch_rows(settings, ctes + "select count(*) as total from filtered", params)
    direction = "desc" if page.descending else "asc"
    rows = fetch_rows(
        settings,
        ctes
        + f"""
        select * from filtered
        order by {sort} {direction} nulls last, {tie_breaker}
        limit $limit offset $offset
        """,
        {**params, "limit": page.limit, "offset": page.offset},
    )
    return count["total"], rows
