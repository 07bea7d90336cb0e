"""Reads from the warehouse for the routers, through the one read path
(:func:`ringside.core.warehouse.open_reader`; the API process keeps its PostgreSQL
connections pooled). Routes write their SQL once, with ``$name`` parameters.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import HTTPException

from api.deps import Page
from api.errors import invalid
from ringside.core.readers import Reader
from ringside.core.settings import Settings
from ringside.core.warehouse import (
    WarehouseNotBuiltError,
    WarehouseUnavailableError,
    data_version,
    open_reader,
)
from ringside.insights.sql import QueryError
from ringside.reports.definition import ReportQuery
from ringside.reports.results import ReportResult, run_report


@contextmanager
def warehouse(settings: Settings) -> Iterator[Reader]:
    """The warehouse reader (:func:`ringside.core.warehouse.open_reader`) with its
    errors as HTTP answers: 503 while nothing has been built or PostgreSQL is down, 422
    with the engine's reason when a query is invalid (the reason names the parameter)."""
    try:
        with open_reader(settings) as reader:
            yield reader
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
