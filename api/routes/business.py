"""Business metrics and KPIs (issue 8) from `mart_business_metrics_daily`, and the metric
catalog they are defined in (`vars.business_metrics` of dbt_project.yml)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from api.deps import Day, SettingsDep
from api.errors import invalid, problems
from api.queries import fetch_rows
from api.security import require
from ringside.bi.catalog import (
    CatalogEntry,
    Category,
    Direction,
    Grain,
    Unit,
    metric_catalog,
)

router = APIRouter(
    prefix="/api/analytics/business",
    tags=["business"],
    dependencies=[Depends(require("viewer"))],
    responses=problems(401, 403),
)


class BusinessMetricRow(BaseModel):
    metric: str
    label: str
    category: Category
    unit: Unit
    format: str
    direction: Direction
    grain: Grain
    period_start: date
    period_end: date
    dimension: str
    dimension_value: str
    value: float | None
    previous_period_value: float | None
    same_period_last_week_value: float | None
    same_period_last_month_value: float | None
    same_period_last_year_value: float | None
    growth_vs_previous_period: float | None
    growth_vs_last_week: float | None
    growth_vs_last_month: float | None
    growth_vs_last_year: float | None
    is_kpi: bool
    target: float | None
    tolerance: float | None
    alert_threshold: float | None
    vs_target: float | None
    is_complete: bool


class BusinessMetrics(BaseModel):
    grain: Grain
    dimension: str
    start: date | None
    end: date | None
    rows: list[BusinessMetricRow]


def _unknown(field: str, value: str, known: list[str]) -> HTTPException:
    return invalid("query", field, f"unknown {field} {value!r}; known: {', '.join(known)}", value)


@router.get("/catalog", response_model=list[CatalogEntry])
def catalog() -> list[CatalogEntry]:
    """Every business metric: label, definition, category, unit, format, which way is
    good, and how it is computed and rolled up to weeks and months."""
    return list(metric_catalog().values())


@router.get("/", response_model=BusinessMetrics, responses=problems(503))
def business_metrics(
    settings: SettingsDep,
    category: Annotated[Category | None, Query(description="Only this category.")] = None,
    metric: Annotated[
        list[str] | None, Query(description="Only these metrics (repeatable).")
    ] = None,
    grain: Annotated[Grain, Query(description="Day, ISO week or calendar month.")] = "day",
    start: Annotated[Day | None, Query(description="First period_start (inclusive).")] = None,
    end: Annotated[Day | None, Query(description="Last period_start (inclusive).")] = None,
    dimension: Annotated[
        str, Query(description="'all', or a slice such as 'device_type'.")
    ] = "all",
    kpi_only: Annotated[bool, Query(description="Only metrics with a KPI target.")] = False,
) -> BusinessMetrics:
    """Business metrics per period from `mart_business_metrics_daily`, with the previous
    period, the same period last week / month / year, growth against each, and the KPI
    target where one is set."""
    entries = metric_catalog()
    for name in metric or []:
        if name not in entries:
            raise _unknown("metric", name, list(entries))
    dimensions = sorted({"all", *(d for entry in entries.values() for d in entry.dimensions)})
    if dimension not in dimensions:
        raise _unknown("dimension", dimension, dimensions)
    if start is not None and end is not None and end < start:
        raise invalid("query", "end", "end must not be before start", end.isoformat())
    params: dict[str, object] = {"grain": grain, "dimension": dimension}
    conditions = ["grain = $grain", "dimension = $dimension"]
    if category is not None:
        conditions.append("category = $category")
        params["category"] = category
    if metric:
        # Placeholder names are the server's; only the values come from the client.
        names = {f"metric_{index}": name for index, name in enumerate(metric)}
        conditions.append(f"metric in ({', '.join('$' + key for key in names)})")
        params.update(names)
    if start is not None:
        conditions.append("period_start >= $start")
        params["start"] = start
    if end is not None:
        conditions.append("period_start <= $end")
        params["end"] = end
    if kpi_only:
        conditions.append("is_kpi")
    rows = fetch_rows(
        settings,
        f"""
        select * from mart_business_metrics_daily
        where {" and ".join(conditions)}
        order by metric, period_start, dimension_value
        """,
        params,
    )
    return BusinessMetrics(
        grain=grain,
        dimension=dimension,
        start=start,
        end=end,
        rows=[
            BusinessMetricRow(**row, format=entries[row["metric"]].format)
            for row in rows
            # A metric removed from the catalog stays in the mart until the next build.
            if row["metric"] in entries
        ],
    )
