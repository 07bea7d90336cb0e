"""Live activity read straight from the landed Parquet, so it is fresh within moments of
an event's arrival instead of waiting for the next build."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import duckdb
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import Instant, SettingsDep
from api.errors import problems
from api.security import require
from ringside.core.raw_lock import reading_raw
from ringside.core.timestamps import UtcDateTime

router = APIRouter(
    prefix="/api/analytics/real-time",
    tags=["analytics"],
    dependencies=[Depends(require("viewer"))],
    responses=problems(401, 403),
)

WINDOWS_MINUTES = (5, 30)


class ActivityWindow(BaseModel):
    minutes: int
    active_users: int = Field(
        description="Distinct users (userId, else anonymousId) with an event other than "
        "Page Heartbeat; not stitched, since stitching waits for a build."
    )
    events: int
    page_views: int


class MinuteCount(BaseModel):
    minute: UtcDateTime
    events: int


class RealTime(BaseModel):
    as_of: UtcDateTime
    windows: list[ActivityWindow]
    events_per_minute: list[MinuteCount] = Field(description="The last 30 minutes, oldest first.")


@router.get("/", response_model=RealTime)
def real_time(
    settings: SettingsDep,
    at: Annotated[
        Instant | None, Query(description="Evaluate as of this instant (default: now).")
    ] = None,
) -> RealTime:
    now = (at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    since = now - timedelta(minutes=max(WINDOWS_MINUTES))
    # The files listed stay in place until read (compaction).
    with reading_raw(settings.layout):
        # Only the days the window touches are listed and read.
        landed = settings.layout.landed_event_files(days={since.date(), now.date()})
        files = [str(path) for paths in landed.values() for path in paths]
        # (minutes, active users, events, page views) per window; (minute, events).
        rows: list[tuple[int, int, int, int]] = []
        per_minute: list[tuple[datetime, int]] = []
        if files:
            # A message landed twice (a client's retry, in the same file or another) is
            # one event: its first landed copy counts, as in stg_tracking__events.
            recent = (
                "with recent as (select * from read_parquet($files) "
                "where event_time > $since and event_time <= $now "
                "qualify row_number() over (partition by message_id "
                "order by received_at, ingested_at, source_ref) = 1) "
            )
            params = {"files": files, "since": since, "now": now}
            with duckdb.connect() as con:
                rows = con.execute(
                    recent
                    + """
                    select
                        w.minutes,
                        count(distinct case when coalesce(r.event, '') <> 'Page Heartbeat'
                            then coalesce(r.user_id, r.anonymous_id) end),
                        count(r.message_id),
                        count(case when r.type in ('page', 'screen') then 1 end)
                    from (select unnest($windows::integer[]) as minutes) as w
                    left join recent as r on r.event_time > $now - to_minutes(w.minutes)
                    group by w.minutes
                    order by w.minutes
                    """,
                    {**params, "windows": list(WINDOWS_MINUTES)},
                ).fetchall()
                per_minute = con.execute(
                    recent + "select date_trunc('minute', event_time), count(*) "
                    "from recent group by 1 order by 1",
                    params,
                ).fetchall()
    counts = {minutes: (users, events, views) for minutes, users, events, views in rows}
    return RealTime(
        as_of=now,
        windows=[
            ActivityWindow(
                minutes=m,
                active_users=counts.get(m, (0, 0, 0))[0],
                events=counts.get(m, (0, 0, 0))[1],
                page_views=counts.get(m, (0, 0, 0))[2],
            )
            for m in WINDOWS_MINUTES
        ],
        events_per_minute=[MinuteCount(minute=minute, events=n) for minute, n in per_minute],
    )
