from datetime import date

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.deps import DateRangeDep, SettingsDep
from api.errors import problems
from api.queries import fetch_rows
from api.security import require

router = APIRouter(
    prefix="/api/analytics/overview",
    tags=["analytics"],
    dependencies=[Depends(require("viewer"))],
    responses=problems(401, 403, 503),
)


class OverviewDay(BaseModel):
    date: date
    events: int
    users: int
    sessions: int
    page_views: int


class Overview(BaseModel):
    start: date
    end: date
    days: list[OverviewDay]


@router.get("/", response_model=Overview)
def overview(settings: SettingsDep, days: DateRangeDep) -> Overview:
    """Events, active users, sessions and page views per day, from `mart_overview_daily`."""
    rows = fetch_rows(
        settings,
        """
        select event_date as date, events, active_users as users, sessions, page_views
        from mart_overview_daily
        where event_date between $start and $end
        order by event_date
        """,
        {"start": days.start, "end": days.end},
    )
    return Overview(start=days.start, end=days.end, days=[OverviewDay(**row) for row in rows])
