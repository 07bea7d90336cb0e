from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.deps import DateRangeDep, PageDep, SettingsDep
from api.errors import problems
from api.queries import fetch_page
from api.security import require
from ringside.core.timestamps import UtcDateTime

router = APIRouter(
    prefix="/api/analytics/users",
    tags=["analytics"],
    dependencies=[Depends(require("viewer"))],
    responses=problems(401, 403, 503),
)


class UserSort(StrEnum):
    engagement_score = "engagement_score"
    days_active = "days_active"
    sessions = "sessions"
    page_views = "page_views"
    last_activity_date = "last_activity_date"


class UserEngagement(BaseModel):
    stitched_user_id: str
    is_identified: bool
    country: str | None
    plan: str | None
    first_touch_channel: str | None
    first_seen_at: UtcDateTime | None
    days_active: int
    sessions: int
    page_views: int
    likes: int
    shares: int
    comments: int
    searches: int
    video_completions: int
    engaged_minutes: float
    engagement_score: float
    activity_level: str | None
    last_activity_date: date | None


class UserPage(BaseModel):
    total: int
    items: list[UserEngagement]


@router.get("/", response_model=UserPage)
def users(
    settings: SettingsDep,
    days: DateRangeDep,
    page: PageDep,
    sort: Annotated[UserSort, Query(description="Sort column.")] = UserSort.engagement_score,
    country: Annotated[str | None, Query(description="Only users of this country.")] = None,
    activity_level: Annotated[
        str | None, Query(description="power, core, casual or dormant, as of `end`.")
    ] = None,
) -> UserPage:
    """Per-user engagement over the range, from `mart_user_engagement_daily` and
    `dim_users`. `engagement_score` is the mean of the user's daily scores on days with
    activity; `activity_level` is the one of the user's last day in the range."""
    ranked = """
        with in_range as (
            select
                *,
                row_number() over (
                    partition by stitched_user_id order by event_date desc
                ) as recency
            from mart_user_engagement_daily
            where event_date between $start and $end
        ),
        per_user as (
            select
                stitched_user_id,
                count(case when is_active then 1 end) as days_active,
                sum(sessions) as sessions,
                sum(page_views) as page_views,
                sum(likes) as likes,
                sum(shares) as shares,
                sum(comments) as comments,
                sum(searches) as searches,
                sum(video_completions) as video_completions,
                sum(engaged_minutes) as engaged_minutes,
                avg(engagement_score) as engagement_score,
                max(case when recency = 1 then activity_level end) as activity_level,
                max(last_activity_date) as last_activity_date
            from in_range
            group by stitched_user_id
        ),
        filtered as (
            select per_user.*, users.is_identified, users.country, users.plan,
                users.first_touch_channel, users.first_seen_at
            from per_user
            inner join dim_users as users on users.stitched_user_id = per_user.stitched_user_id
            where ($country is null or users.country = $country)
                and ($level is null or per_user.activity_level = $level)
        )
    """
    params = {"start": days.start, "end": days.end, "country": country, "level": activity_level}
    total, rows = fetch_page(
        settings, ranked, params, sort=sort.value, tie_breaker="stitched_user_id", page=page
    )
    return UserPage(total=total, items=[UserEngagement(**row) for row in rows])
