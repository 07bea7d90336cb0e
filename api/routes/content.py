from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.deps import DateRangeDep, PageDep, SettingsDep
from api.errors import problems
from api.queries import fetch_page
from api.security import require
from ringside.reports.dashboards import ContentSort

router = APIRouter(
    prefix="/api/analytics/content",
    tags=["analytics"],
    dependencies=[Depends(require("viewer"))],
    responses=problems(401, 403, 503),
)


class ContentPerformance(BaseModel):
    content_id: str
    content_type: str | None
    title: str | None
    views: int
    daily_unique_views: int
    avg_engaged_seconds: float | None
    bounce_rate: float | None
    shares: int
    likes: int
    comments: int
    video_starts: int
    video_completions: int
    video_completion_rate: float | None
    search_clicks: int
    days_trending: int
    max_trending_score: float | None
    quality_score: float | None


class ContentPage(BaseModel):
    total: int
    items: list[ContentPerformance]


@router.get("/", response_model=ContentPage)
def content(
    settings: SettingsDep,
    days: DateRangeDep,
    page: PageDep,
    sort: Annotated[ContentSort, Query(description="Sort column.")] = ContentSort.views,
    content_type: Annotated[
        str | None, Query(description="article, video, fighter or fight_event.")
    ] = None,
    trending_only: Annotated[bool, Query(description="Only items that trended.")] = False,
) -> ContentPage:
    """Content performance over the range, from `mart_content_performance_daily`.
    `daily_unique_views` sums each day's distinct viewers (docs/metrics.md defines unique
    views per day); rates are recomputed from the summed counts, not averaged."""
    per_item = """
        with per_item as (
            select
                content_id,
                max(content_type) as content_type,
                max(title) as title,
                sum(views) as views,
                sum(unique_views) as daily_unique_views,
                sum(avg_engaged_seconds * views_with_time) / nullif(sum(views_with_time), 0)
                    as avg_engaged_seconds,
                sum(bounced_sessions) * 1.0 / nullif(sum(landing_sessions), 0) as bounce_rate,
                sum(shares) as shares,
                sum(likes) as likes,
                sum(comments) as comments,
                sum(video_starts) as video_starts,
                sum(video_completions) as video_completions,
                sum(video_completions) * 1.0 / nullif(sum(video_starts), 0)
                    as video_completion_rate,
                sum(search_clicks) as search_clicks,
                count(case when is_trending then 1 end) as days_trending,
                max(trending_score) as max_trending_score,
                avg(quality_score) as quality_score
            from mart_content_performance_daily
            where activity_date between $start and $end
            group by content_id
        ),
        filtered as (
            select * from per_item
            where ($content_type is null or content_type = $content_type)
                and (not $trending_only or days_trending > 0)
        )
    """
    params = {
        "start": days.start,
        "end": days.end,
        "content_type": content_type,
        "trending_only": trending_only,
    }
    total, rows = fetch_page(
        settings, per_item, params, sort=sort.value, tie_breaker="content_id", page=page
    )
    return ContentPage(total=total, items=[ContentPerformance(**row) for row in rows])
