"""The report query compiler: a `ReportQuery` becomes one SQL statement over the marts.

Only names from the business metric catalog (dbt_project.yml `vars.business_metrics`)
and the declared mart sources (`sources.yml`) reach the SQL text; every client value
(filter values, dates, the limit) travels as a bound `$name` parameter. Anything else is
a `ReportError` naming the field and the allowed values (a 422 at the API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from ringside.reports.definition import Filter, ReportQuery

BUSINESS = "business"


class ReportError(ValueError):
    """A definition the compiler refuses: `field` is its path in the request body
    (e.g. `metrics.1`, `filters.0.dimension`), `allowed` the accepted values."""

    def __init__(self, field: str, message: str, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.allowed = allowed or []


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


def source_of(query: ReportQuery) -> str:
    """The one source a query's metrics come from (`business` or a mart source)."""
    raise NotImplementedError


def last_day_sql(source: str) -> str:
    """SQL returning `last_day`: the newest day the source holds (the relative-range
    anchor)."""
    raise NotImplementedError


def compile_report(query: ReportQuery, last_data_day: date | None, today: date) -> CompiledQuery:
    """The SQL answering `query` (relative ranges resolved against the anchors)."""
    raise NotImplementedError


def compile_mart_extract(
    source: str, filters: list[Filter], start: date | None, end: date | None
) -> CompiledQuery:
    """Every column of a declared mart source's rows, filtered by its declared
    dimensions and its date column (exports of a whole mart)."""
    raise NotImplementedError


def compile_metric_extract(
    metric: str, grain: str, dimension: str, start: date | None, end: date | None
) -> CompiledQuery:
    """The rows of one business metric from mart_business_metrics_daily (as
    /api/analytics/business/ serves them)."""
    raise NotImplementedError
