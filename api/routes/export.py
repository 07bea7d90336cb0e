"""Exports (issue 9): a saved report's, a mart source's or a business metric's rows as
CSV, JSON lines, Parquet, XLSX or PDF, streamed as they are read from the warehouse.

Refusals come before the first byte: unknown names and filters (422 naming the query
parameter), too many rows for XLSX or PDF (422 with the row count and the way out), no
warehouse built (503). After that the warehouse connection stays open while the body
streams and is closed when it ends (or the client goes away)."""

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

import psycopg2
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from api.deps import Day, SettingsDep, id_query
from api.errors import invalid, problems, report_error
from api.queries import warehouse
from api.security import Analyst
from ringside.access.keys import Principal
from ringside.bi.catalog import metric_catalog
from ringside.core.appdb import session
from ringside.core.streams import count_rows, open_batches
from ringside.core.warehouse import WarehouseNotBuiltError, data_version
from ringside.reports.branding import branding_for
from ringside.reports.compiler import (
    CompiledQuery,
    OutputColumn,
    ReportError,
    compile_mart_extract,
    compile_metric_extract,
    mart_sources,
)
from ringside.reports.definition import (
    AbsoluteRange,
    Branding,
    ExportFormat,
    Filter,
    FilterValue,
)
from ringside.reports.exports import (
    MEDIA_TYPES,
    ROW_LIMITS,
    SUFFIXES,
    RowLimitError,
    check_row_limit,
    export_chunks,
)
from ringside.reports.library import get_report_for, query_of
from ringside.reports.results import prepare

router = APIRouter(prefix="/api/analytics/export", tags=["exports"], responses=problems(401, 403))

SOURCES = ("report", "mart", "metric")
FIGURES = {
    "value": "Value",
    "previous_period_value": "Previous period",
    "same_period_last_week_value": "Same period last week",
    "same_period_last_month_value": "Same period last month",
    "same_period_last_year_value": "Same period last year",
    "target": "Target",
}


@dataclass(frozen=True)
class _Export:
    """What is exported: the compiled query and how the file is named and titled."""

    name: str
    title: str
    compiled: CompiledQuery
    subtitle: list[str]
    branding: Branding | None = None


def _filters(raw: list[str]) -> list[Filter]:
    """`dimension:value` parameters as filters; a dimension given twice matches either
    value."""
    values: dict[str, list[FilterValue]] = {}
    for index, item in enumerate(raw):
        dimension, sep, value = item.partition(":")
        if not sep or not dimension or not value:
            raise invalid("query", f"filter.{index}", "a filter is dimension:value", item)
        values.setdefault(dimension, []).append(value)
    return [Filter(dimension=d, operator="in", values=v) for d, v in values.items()]


def _query_error(exc: ReportError, raw: list[str]) -> HTTPException:
    """A compiler refusal named by this route's query parameters: `filters.N...` is the
    N-th distinct dimension of `filter` (a report's own filters come after them), named
    by its first `filter` parameter."""
    head, _, rest = exc.field.partition(".")
    dimensions = list(dict.fromkeys(item.partition(":")[0] for item in raw))
    if head == "filters" and (index := int(rest.partition(".")[0])) < len(dimensions):
        first = [item.partition(":")[0] for item in raw].index(dimensions[index])
        exc = ReportError(f"filter.{first}", exc.message, exc.allowed)
    return report_error(exc, "query")


def _described(filters: list[Filter], start: date | None, end: date | None) -> list[str]:
    period = f"{start or 'first day'} to {end or 'last day'}" if start or end else "all dates"
    return [period, *(f"{f.dimension}: {', '.join(map(str, f.values))}" for f in filters)]


def _mart(source: str, filters: list[Filter], start: date | None, end: date | None) -> _Export:
    compiled = compile_mart_extract(source, filters, start, end)
    mart = mart_sources()[source]
    # The mart's own columns; those a source declares get their labels and formats.
    columns = [
        *(OutputColumn(name, label, "dimension") for name, label in mart.dimensions.items()),
        *(
            OutputColumn(name, m.label, "metric", m.unit, m.format)
            for name, m in mart.measures.items()
        ),
    ]
    return _Export(
        source,
        mart.label,
        CompiledQuery(compiled.sql, compiled.params, columns, source, start, end),
        _described(filters, start, end),
    )


def _metric(
    metric: str, grain: str, dimension: str, start: date | None, end: date | None
) -> _Export:
    compiled = compile_metric_extract(metric, grain, dimension, start, end)
    entry = metric_catalog()[metric]
    # The columns in the metric's own unit; the rest are labelled from their names.
    columns = [
        OutputColumn(name, label, "metric", entry.unit, entry.format)
        for name, label in FIGURES.items()
    ]
    subtitle = [*_described([], start, end), f"per {grain}"]
    if dimension != "all":
        subtitle.append(f"by {dimension}")
    return _Export(
        metric,
        entry.label,
        CompiledQuery(compiled.sql, compiled.params, columns, compiled.source, start, end),
        subtitle,
    )


def _report(
    settings: SettingsDep,
    caller: Principal,
    report_id: int,
    filters: list[Filter],
    start: date | None,
    end: date | None,
) -> _Export:
    with session(settings) as db:
        report = get_report_for(db, caller, report_id)
        name, query = report.name, query_of(report)
        branding = branding_for(db, report.partner_id)
    changes: dict[str, object] = {"filters": [*filters, *query.filters]}
    if start is not None or end is not None:
        if start is None or end is None:
            missing = "start" if start is None else "end"
            raise invalid("query", missing, "a report export's range needs start and end")
        changes["date_range"] = AbsoluteRange(start=start, end=end)
    query = query.model_copy(update=changes)
    with warehouse(settings) as reader:
        compiled = prepare(reader, query, data_version(settings))
    described = _described(query.filters, compiled.start, compiled.end)
    return _Export(name, name, compiled, described, branding)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "export"


@router.get(
    "/",
    summary="Export a report, a mart or a metric",
    response_class=StreamingResponse,
    responses={
        200: {"content": {media: {} for media in MEDIA_TYPES.values()}},
        # 422 (unknown names or filters, too many rows for the format) is FastAPI's own
        # declaration, with the validation-error shape every refusal has.
        **problems(404, 503),
    },
)
def export(
    settings: SettingsDep,
    caller: Analyst,
    report: Annotated[int | None, id_query("A saved report's id.")] = None,
    mart: Annotated[
        str | None, Query(description="A mart source (GET /api/analytics/reports/catalog).")
    ] = None,
    metric: Annotated[str | None, Query(description="A business metric, e.g. `dau`.")] = None,
    grain: Annotated[
        Literal["day", "week", "month"], Query(description="Metric exports: the period.")
    ] = "day",
    dimension: Annotated[
        str, Query(description="Metric exports: 'all' or a slice such as 'device_type'.")
    ] = "all",
    start: Annotated[Day | None, Query(description="First day (inclusive).")] = None,
    end: Annotated[Day | None, Query(description="Last day (inclusive).")] = None,
    filters: Annotated[
        list[str] | None,
        Query(
            alias="filter",
            description="`dimension:value`, repeatable; a dimension repeated matches any of "
            "its values. Mart and report exports.",
        ),
    ] = None,
    fmt: Annotated[ExportFormat, Query(alias="format", description="The file format.")] = "csv",
) -> StreamingResponse:
    """The rows as a file download. CSV, JSON lines and Parquet carry the columns'
    names and stream any number of rows; XLSX (up to 1,048,575 rows) and PDF (up to
    5,000) carry labels, number formats and the report's branding."""
    chosen_by = (report, mart, metric)
    given = [name for name, value in zip(SOURCES, chosen_by, strict=True) if value is not None]
    if len(given) != 1:
        raise invalid(
            "query",
            given[1] if given else "report",
            "give exactly one of report, mart or metric"
            + (f" (got {', '.join(given)})" if given else ""),
        )
    if start is not None and end is not None and end < start:
        raise invalid("query", "end", "end must not be before start", end.isoformat())
    raw = filters or []
    parsed = _filters(raw)
    if metric is not None and parsed:
        raise invalid("query", "filter", "metric exports are sliced with dimension, not filter")
    try:
        if metric is not None:
            chosen = _metric(metric, grain, dimension, start, end)
        elif mart is not None:
            chosen = _mart(mart, parsed, start, end)
        else:
            assert report is not None
            chosen = _report(settings, caller, report, parsed, start, end)
    except ReportError as exc:
        raise _query_error(exc, raw) from None

    if fmt in ROW_LIMITS:
        with warehouse(settings) as reader:
            rows = count_rows(reader, chosen.compiled)
        try:
            check_row_limit(fmt, rows)
        except RowLimitError as exc:
            raise invalid("query", "format", str(exc), fmt) from None

    # Opened here, so a missing warehouse is a 503 before the response starts; closed by
    # the body when it ends, or by the background task when the body never ran.
    resources = ExitStack()
    try:
        batches = resources.enter_context(open_batches(settings, chosen.compiled))
    except WarehouseNotBuiltError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    except psycopg2.OperationalError as exc:
        detail = f"the PostgreSQL warehouse is unavailable: {str(exc).strip()}"
        raise HTTPException(status_code=503, detail=detail) from exc

    def body() -> Iterator[bytes]:
        with resources:
            yield from export_chunks(
                fmt,
                chosen.compiled.columns,
                batches,
                title=chosen.title,
                subtitle=" · ".join(chosen.subtitle),
                branding=chosen.branding,
            )

    first, last = chosen.compiled.start or "start", chosen.compiled.end or "end"
    filename = f"{_slug(chosen.name)}-{first}_{last}.{SUFFIXES[fmt]}"
    return StreamingResponse(
        body(),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        background=BackgroundTask(resources.close),
    )
