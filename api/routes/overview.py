from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from api.deps import SettingsDep
from ringside.warehouse import WarehouseNotBuiltError, read_serving

router = APIRouter(prefix="/api/analytics/overview", tags=["analytics"])


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
def overview(
    settings: SettingsDep,
    start: Annotated[date, Query(description="First UTC day (inclusive).")],
    end: Annotated[date, Query(description="Last UTC day (inclusive).")],
) -> Overview:
    """Events, active users, sessions and page views per day, from `mart_overview_daily`."""
    if end < start:
        raise HTTPException(status_code=422, detail="end must not be before start")
    try:
        with read_serving(settings.layout) as con:
            rows = con.execute(
                """
                select event_date, events, active_users, sessions, page_views
                from mart_overview_daily
                where event_date between ? and ?
                order by event_date
                """,
                [start, end],
            ).fetchall()
    except WarehouseNotBuiltError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    return Overview(
        start=start,
        end=end,
        days=[
            OverviewDay(date=d, events=e, users=u, sessions=s, page_views=p)
            for d, e, u, s, p in rows
        ],
    )
