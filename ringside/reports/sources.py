"""What a report may read: the business metric catalog (dbt_project.yml
`vars.business_metrics`, through :mod:`ringside.bi.catalog`) and the mart sources declared
in `sources.yml` (a mart, its date column, dimensions and measures). The compiler
(:mod:`ringside.reports.compiler`) turns a report over them into SQL; a name that is in
neither is a `ReportError` naming the field and the allowed values (a 422 at the API)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, model_validator

from ringside.bi.catalog import metric_catalog
from ringside.reports.definition import ReportQuery

BUSINESS = "business"
BUSINESS_MART = "mart_business_metrics_daily"
SOURCES_FILE = Path(__file__).with_name("sources.yml")


class ReportError(ValueError):
    """A definition the compiler refuses: `field` is its path in the request body
    (e.g. `metrics.1`, `filters.0.dimension`), `allowed` the accepted values."""

    def __init__(self, field: str, message: str, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.allowed = allowed or []


class Measure(BaseModel):
    label: str
    aggregation: Literal["sum", "ratio"]
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    unit: str
    format: str

    @model_validator(mode="after")
    def _columns(self) -> Measure:
        wanted = ("column",) if self.aggregation == "sum" else ("numerator", "denominator")
        if any(getattr(self, name) is None for name in wanted):
            raise ValueError(f"a {self.aggregation} measure needs {' and '.join(wanted)}")
        return self

    def description(self, model: str) -> str:
        """How the measure is computed, for the catalog (the report builder shows it)."""
        if self.aggregation == "sum":
            return f"Sum of {model}.{self.column} over the days and slices of each row."
        return (
            f"sum({self.numerator}) / sum({self.denominator}) over {model}'s days and "
            "slices of each row: a ratio of sums, never a mean of daily ratios."
        )


class MartSource(BaseModel):
    """A mart a report may read: its date column, dimensions (name -> label) and
    measures (name -> how they aggregate)."""

    label: str
    model: str
    date_column: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    measures: dict[str, Measure]


@cache
def mart_sources(path: Path = SOURCES_FILE) -> dict[str, MartSource]:
    return {
        name: MartSource.model_validate(raw)
        for name, raw in yaml.safe_load(path.read_text()).items()
    }


def dimension_label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def source_of(query: ReportQuery) -> str:
    """The one source a query's metrics come from (`business` or a mart source)."""
    sources = mart_sources()
    catalog = metric_catalog()
    found: str | None = None
    for index, metric in enumerate(query.metrics):
        if metric in catalog:
            source = BUSINESS
        else:
            source, _, measure = metric.partition(".")
            if source not in sources or measure not in sources[source].measures:
                raise ReportError(
                    f"metrics.{index}",
                    f"unknown metric {metric!r}: a business metric or <source>.<measure>",
                    all_metrics(),
                )
        if found is not None and source != found:
            raise ReportError(
                f"metrics.{index}",
                f"metric {metric!r} is from source {source!r}, the report's first metric "
                f"from {found!r}; one report reads one source",
                [m for m in all_metrics() if _source_name(m) == found],
            )
        found = source
    assert found is not None  # ReportQuery holds at least one metric
    return found


def _source_name(metric: str) -> str:
    return metric.partition(".")[0] if "." in metric else BUSINESS


def all_metrics() -> list[str]:
    return [
        *metric_catalog(),
        *(f"{name}.{m}" for name, source in mart_sources().items() for m in source.measures),
    ]


def last_day_sql(source: str) -> str:
    """SQL returning `last_day`: the newest day the source holds (the anchor of
    relative ranges)."""
    if source == BUSINESS:
        return f"select max(period_start) as last_day from {BUSINESS_MART} where grain = 'day'"
    mart = mart_sources()[source]
    return f"select max({mart.date_column}) as last_day from {mart.model}"
