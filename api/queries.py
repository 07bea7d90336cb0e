"""Reads from the published warehouse, for the routers."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
from fastapi import HTTPException

from api.deps import Page
from ringside.insights.sql import QueryError
from ringside.settings import Settings
from ringside.warehouse import WarehouseNotBuiltError, read_serving


@contextmanager
def warehouse(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the published warehouse: 503 while nothing has been
    built, 422 with the engine's reason when a query is invalid."""
    try:
        with read_serving(settings.layout) as con:
            yield con
    except WarehouseNotBuiltError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    except QueryError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


def fetch_rows(settings: Settings, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of a parameterized query as dicts."""
    with warehouse(settings) as con:
        cursor = con.execute(sql, params)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


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
