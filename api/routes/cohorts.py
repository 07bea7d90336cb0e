from datetime import date
from itertools import groupby
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.deps import DateRangeDep, SettingsDep
from api.errors import problems
from api.queries import fetch_rows
from api.security import require

router = APIRouter(
    prefix="/api/analytics/cohorts",
    tags=["analytics"],
    dependencies=[Depends(require("viewer"))],
    responses=problems(401, 403, 503),
)


class CohortPeriod(BaseModel):
    period_number: int
    period_start: date
    is_complete: bool
    retained_users: int | None
    retention_rate: float | None
    unbounded_retained_users: int | None
    unbounded_retention_rate: float | None
    revenue_usd: float | None
    cumulative_revenue_usd: float | None
    ltv_per_user: float | None


class Cohort(BaseModel):
    cohort_start: date
    breakdown_value: str
    cohort_size: int
    periods: list[CohortPeriod]


class CohortMatrix(BaseModel):
    cohort_type: str
    period: str
    breakdown: str
    start: date
    end: date
    cohorts: list[Cohort]


@router.get("/", response_model=CohortMatrix)
def cohorts(
    settings: SettingsDep,
    days: DateRangeDep,
    cohort_type: Annotated[
        Literal["first_activity", "signup"],
        Query(description="Cohort by first activity or by the `Signed Up` event."),
    ] = "first_activity",
    period: Annotated[
        Literal["day", "week", "month"], Query(description="Cohort and period grain.")
    ] = "week",
    breakdown: Annotated[
        Literal["all", "first_touch_channel", "first_device_type"],
        Query(description="Split cohorts by the acquisition channel or first device."),
    ] = "all",
    periods: Annotated[int, Query(ge=0, le=400, description="Highest period number.")] = 400,
) -> CohortMatrix:
    """The cohort-by-period retention matrix for cohorts starting in [start, end], from
    `mart_cohort_retention` (N-period and unbounded retention, revenue and LTV per
    cohort user; periods that have not fully elapsed are null)."""
    rows = fetch_rows(
        settings,
        """
        select
            cohort_start, breakdown_value, cohort_size, period_number, period_start,
            is_complete, retained_users, retention_rate, unbounded_retained_users,
            unbounded_retention_rate, revenue_usd, cumulative_revenue_usd, ltv_per_user
        from mart_cohort_retention
        where cohort_type = $cohort_type and period_grain = $period
            and breakdown = $breakdown and cohort_start between $start and $end
            and period_number <= $periods
        order by cohort_start, breakdown_value, period_number
        """,
        {
            "cohort_type": cohort_type,
            "period": period,
            "breakdown": breakdown,
            "start": days.start,
            "end": days.end,
            "periods": periods,
        },
    )
    matrix = [
        Cohort(
            cohort_start=cohort_start,
            breakdown_value=breakdown_value,
            cohort_size=cells[0]["cohort_size"],
            periods=[CohortPeriod(**cell) for cell in cells],
        )
        for (cohort_start, breakdown_value), group in groupby(
            rows, key=lambda row: (row["cohort_start"], row["breakdown_value"])
        )
        for cells in [list(group)]
    ]
    return CohortMatrix(
        cohort_type=cohort_type,
        period=period,
        breakdown=breakdown,
        start=days.start,
        end=days.end,
        cohorts=matrix,
    )
