"""The report query compiler: a `ReportQuery` becomes one SQL statement over the marts.

Only names from the business metric catalog (dbt_project.yml `vars.business_metrics`)
and the declared mart sources (`sources.yml`) reach the SQL text; every client value
(filter values, dates, the limit) travels as a bound `$name` parameter. Anything else is
a `ReportError` naming the field and the allowed values (a 422 at the API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from ringside.bi.catalog import CatalogEntry, metric_catalog
from ringside.insights.sql import Params
from ringside.reports.definition import Filter, ReportQuery

# api/ imports ReportError, BUSINESS, dimension_label and mart_sources from here as well.
from ringside.reports.sources import (
    BUSINESS,
    BUSINESS_MART,
    Measure,
    ReportError,
    dimension_label,
    mart_sources,
    source_of,
)


@dataclass(frozen=True)
class OutputColumn:
    name: str
    label: str
    kind: Literal["period", "dimension", "metric"]
    unit: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class CompiledQuery:
    """SQL with `$name` placeholders (a `Reader` adapts them per engine), its bound
    values and the columns it returns, in order."""

    sql: str
    params: dict[str, object]
    columns: list[OutputColumn]
    source: str
    start: date | None = None
    end: date | None = None
    extra: dict[str, object] = field(default_factory=dict)


def compile_report(query: ReportQuery, last_data_day: date | None, today: date) -> CompiledQuery:
    """The SQL answering `query`; relative ranges resolved against the anchors."""
    source = source_of(query)
    _unique(query.metrics, "metrics")
    _unique(query.dimensions, "dimensions")
    start, end = query.date_range.resolve(last_data_day, today)
    if source == BUSINESS:
        return _compile_business(query, start, end)
    return _compile_mart(query, source, start, end)


def _unique(names: list[str], field_name: str) -> None:
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ReportError(f"{field_name}.{index}", f"{name!r} is listed twice")


def _compile_business(query: ReportQuery, start: date, end: date) -> CompiledQuery:
    catalog = metric_catalog()
    entries = [catalog[m] for m in query.metrics]
    if query.grain == "total":
        raise ReportError(
            "grain",
            "business metrics are reported per day, week or month (their week and month "
            "rollups are defined in the catalog); 'total' is for mart sources",
            ["day", "week", "month"],
        )
    if len(query.dimensions) > 1:
        raise ReportError(
            "dimensions.1",
            "business metrics are sliced by one dimension at a time",
            _common_dimensions(entries),
        )
    params = Params()
    dimension = query.dimensions[0] if query.dimensions else None
    if dimension is not None:
        _check_business_dimension(entries, dimension, "dimensions.0")
    value_conditions = []
    for index, item in enumerate(query.filters):
        where = f"filters.{index}.dimension"
        _check_business_dimension(entries, item.dimension, where)
        if dimension is None:
            if item.operator not in ("equals", "in") or len(item.values) != 1:
                raise ReportError(
                    f"filters.{index}",
                    f"business metrics do not add up across {item.dimension} values: filter "
                    f"one value (equals), or add {item.dimension!r} to dimensions",
                )
            dimension = item.dimension
        elif item.dimension != dimension:
            raise ReportError(
                where,
                f"business metrics are sliced by one dimension at a time; this report "
                f"uses {dimension!r}",
                [dimension],
            )
        value_conditions.append(_filter_sql(item, "dimension_value", params, index))
    grouped = bool(query.dimensions)
    columns = [OutputColumn("period", _period_label(query.grain), "period")]
    select = ["period_start as period"]
    group = ["period_start"]
    if grouped:
        columns.append(OutputColumn(dimension, dimension_label(dimension), "dimension"))  # type: ignore[arg-type]
        select.append(f'dimension_value as "{dimension}"')
        group.append("dimension_value")
    for entry in entries:
        placeholder = params.bind(entry.name, "metric")
        select.append(f'max(case when metric = {placeholder} then value end) as "{entry.name}"')
        columns.append(OutputColumn(entry.name, entry.label, "metric", entry.unit, entry.format))
    conditions = [
        f"grain = {params.bind(query.grain, 'grain')}",
        f"dimension = {params.bind(dimension or 'all', 'dimension')}",
        f"metric in ({', '.join(params.bind(m, 'metric') for m in query.metrics)})",
        f"period_start >= {params.bind(_period_containing(start, query.grain), 'start')}",
        f"period_start <= {params.bind(end, 'end')}",
        *value_conditions,
    ]
    return _assemble(query, BUSINESS, select, conditions, group, columns, params, start, end)


def _period_containing(day: date, grain: str) -> date:
    """The first day of the week (ISO, Monday) or month holding `day`. Business metrics
    come whole per period (a week's MAU is its last day's), so a range shows every
    period it overlaps, the first one included, rather than clipping it."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def _common_dimensions(entries: list[CatalogEntry]) -> list[str]:
    shared = set.intersection(*(set(entry.dimensions) for entry in entries))
    return sorted(shared)


def _check_business_dimension(entries: list[CatalogEntry], name: str, where: str) -> None:
    allowed = _common_dimensions(entries)
    if name not in allowed:
        lacking = [entry.name for entry in entries if name not in entry.dimensions]
        raise ReportError(
            where,
            f"dimension {name!r} is not available for metric(s) {', '.join(lacking)}"
            + (f"; allowed: {', '.join(allowed)}" if allowed else "; they have no dimensions"),
            allowed,
        )


def _compile_mart(query: ReportQuery, source: str, start: date, end: date) -> CompiledQuery:
    mart = mart_sources()[source]
    allowed = list(mart.dimensions)
    for index, name in enumerate(query.dimensions):
        if name not in mart.dimensions:
            raise ReportError(
                f"dimensions.{index}", f"unknown dimension {name!r} of source {source!r}", allowed
            )
    params = Params()
    columns: list[OutputColumn] = []
    select: list[str] = []
    group: list[str] = []
    if query.grain != "total":
        period = (
            mart.date_column
            if query.grain == "day"
            else f"cast(date_trunc('{query.grain}', cast({mart.date_column} as timestamp)) as date)"
        )
        select.append(f"{period} as period")
        group.append(period)
        columns.append(OutputColumn("period", _period_label(query.grain), "period"))
    for name in query.dimensions:
        select.append(f'{name} as "{name}"')
        group.append(name)
        columns.append(OutputColumn(name, mart.dimensions[name], "dimension"))
    for metric in query.metrics:
        name = metric.partition(".")[2]
        measure = mart.measures[name]
        select.append(f'{_measure_sql(measure)} as "{name}"')
        columns.append(OutputColumn(name, measure.label, "metric", measure.unit, measure.format))
    conditions = [
        f"{mart.date_column} >= {params.bind(start, 'start')}",
        f"{mart.date_column} <= {params.bind(end, 'end')}",
    ]
    for index, item in enumerate(query.filters):
        if item.dimension not in mart.dimensions:
            raise ReportError(
                f"filters.{index}.dimension",
                f"unknown dimension {item.dimension!r} of source {source!r}",
                allowed,
            )
        conditions.append(_filter_sql(item, f"cast({item.dimension} as varchar)", params, index))
    return _assemble(query, source, select, conditions, group, columns, params, start, end)


def _measure_sql(measure: Measure) -> str:
    if measure.aggregation == "sum":
        cast = "bigint" if measure.unit == "count" else "double precision"
        return f"cast(sum({measure.column}) as {cast})"
    return (
        f"cast(sum({measure.numerator}) as double precision)"
        f" / nullif(sum({measure.denominator}), 0)"
    )


def _filter_sql(item: Filter, column: str, params: Params, index: int) -> str:
    # Values compare as text: a number sent for a text column must not become an engine
    # type error (a 500); the column side is cast where it is not text already.
    values = [
        str(value).lower() if isinstance(value, bool) else str(value) for value in item.values
    ]
    hint = f"filter_{index}"
    if item.operator == "contains":
        return f"strpos(lower({column}), lower({params.bind(values[0], hint)})) > 0"
    placeholders = ", ".join(params.bind(value, hint) for value in values)
    negate = "not " if item.operator in ("not_equals", "not_in") else ""
    return f"{column} {negate}in ({placeholders})"


def _period_label(grain: str) -> str:
    return {"day": "Day", "week": "Week starting", "month": "Month"}.get(grain, "Period")


def _assemble(
    query: ReportQuery,
    source: str,
    select: list[str],
    conditions: list[str],
    group: list[str],
    columns: list[OutputColumn],
    params: Params,
    start: date,
    end: date,
) -> CompiledQuery:
    names = [column.name for column in columns]
    order: list[str] = []
    sorted_by: list[str] = []
    for index, item in enumerate(query.sort):
        if item.field not in names:
            raise ReportError(f"sort.{index}.field", f"cannot sort by {item.field!r}", names)
        order.append(f'"{item.field}" {item.direction} nulls last')
        sorted_by.append(item.field)
    if not order and names[0] != "period":
        # A total per slice: the biggest first, as a leaderboard reads.
        first_metric = next(c.name for c in columns if c.kind == "metric")
        order.append(f'"{first_metric}" desc nulls last')
        sorted_by.append(first_metric)
    # Then time and every grouping column, so ties come back in one order on both engines.
    order += [f'"{c.name}" asc' for c in columns if c.kind != "metric" and c.name not in sorted_by]
    model = BUSINESS_MART if source == BUSINESS else mart_sources()[source].model
    sql = (
        f"select {', '.join(select)}\nfrom {model}\nwhere {' and '.join(conditions)}\n"
        + (f"group by {', '.join(group)}\n" if group else "")
        + f"order by {', '.join(order)}\nlimit {params.bind(query.limit, 'limit')}"
    )
    return CompiledQuery(sql, params.values, columns, source, start, end)


def compile_mart_extract(
    source: str, filters: list[Filter], start: date | None, end: date | None
) -> CompiledQuery:
    """Every column of a declared mart source's rows, filtered by its declared dimensions
    and its date column (exports of a mart). `columns` is empty: they are the mart's."""
    sources = mart_sources()
    if source not in sources:
        raise ReportError("mart", f"unknown mart source {source!r}", list(sources))
    mart = sources[source]
    params = Params()
    conditions = ["true"]
    if start is not None:
        conditions.append(f"{mart.date_column} >= {params.bind(start, 'start')}")
    if end is not None:
        conditions.append(f"{mart.date_column} <= {params.bind(end, 'end')}")
    for index, item in enumerate(filters):
        if item.dimension not in mart.dimensions:
            raise ReportError(
                f"filters.{index}.dimension",
                f"unknown dimension {item.dimension!r} of source {source!r}",
                list(mart.dimensions),
            )
        conditions.append(_filter_sql(item, f"cast({item.dimension} as varchar)", params, index))
    sql = f"select * from {mart.model} where {' and '.join(conditions)} order by {mart.date_column}"
    return CompiledQuery(sql, params.values, [], source, start, end)


def compile_metric_extract(
    metric: str, grain: str, dimension: str, start: date | None, end: date | None
) -> CompiledQuery:
    """The rows of one business metric from mart_business_metrics_daily, as
    /api/analytics/business/ serves them."""
    catalog = metric_catalog()
    if metric not in catalog:
        raise ReportError("metric", f"unknown metric {metric!r}", list(catalog))
    if grain not in ("day", "week", "month"):
        raise ReportError("grain", f"unknown grain {grain!r}", ["day", "week", "month"])
    allowed = ["all", *catalog[metric].dimensions]
    if dimension not in allowed:
        raise ReportError("dimension", f"metric {metric!r} has no dimension {dimension!r}", allowed)
    params = Params()
    conditions = [
        f"metric = {params.bind(metric, 'metric')}",
        f"grain = {params.bind(grain, 'grain')}",
        f"dimension = {params.bind(dimension, 'dimension')}",
    ]
    if start is not None:
        conditions.append(f"period_start >= {params.bind(start, 'start')}")
    if end is not None:
        conditions.append(f"period_start <= {params.bind(end, 'end')}")
    sql = (
        f"select * from {BUSINESS_MART} where {' and '.join(conditions)} "
        "order by period_start, dimension_value"
    )
    return CompiledQuery(sql, params.values, [], BUSINESS, start, end)
