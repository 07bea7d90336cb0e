"""The frames the models learn from, read from the built warehouse (either engine) and
the landed files. The only module of ml_assets that knows table and column names."""

from datetime import date

import pandas as pd

from ringside.quality.frames import ingestion_rates
from ringside.settings import Settings
from ringside.warehouse import read_frame

CONTENT_TYPES = ("article", "video", "fighter", "fight_event")

DAILY_KPIS = f"""
with overview as (
    select event_date, active_users, page_views from mart_overview_daily
),
facts as (
    select
        event_date,
        sum(case when event_name = 'Signed Up' then 1 else 0 end) as signups,
        sum(coalesce(revenue_usd, 0)) as revenue_usd
    from fct_events
    group by event_date
),
content as (
    select
        activity_date as event_date,
        {
    ", ".join(
        f"sum(case when content_type = '{kind}' then views else 0 end) as views_{kind}"
        for kind in CONTENT_TYPES
    )
}
    from mart_content_performance_daily
    group by activity_date
)
select overview.*, facts.signups, facts.revenue_usd,
    {", ".join(f"coalesce(content.views_{kind}, 0) as views_{kind}" for kind in CONTENT_TYPES)}
from overview
left join facts on facts.event_date = overview.event_date
left join content on content.event_date = overview.event_date
order by overview.event_date
"""


def daily_kpis(settings: Settings) -> pd.DataFrame:
    """One row per UTC day with data (missing days filled with 0): active users, signups,
    page views, revenue (USD), views per content type and the invalid-event rate."""
    frame = read_frame(settings, DAILY_KPIS)
    frame["date"] = pd.to_datetime(frame.pop("event_date"))
    frame = frame.set_index("date").asfreq("D").fillna(0)
    rates = invalid_event_rate(settings)
    frame["invalid_event_rate"] = rates.reindex(frame.index)  # NaN: nothing arrived that day
    return frame


def invalid_event_rate(settings: Settings) -> pd.Series:
    """The quarantine rate per UTC day of ingestion, as the quarantine check counts it."""
    rates = ingestion_rates(settings.layout)
    return pd.Series(
        rates["quarantine_rate"].to_numpy(), index=pd.to_datetime(rates["ingested_date"])
    )


def events(settings: Settings, since: date | None = None) -> pd.DataFrame:
    """Every event the models use, with ``time_on_page`` (seconds, page views only; NULL
    when unknown) from fct_page_views."""
    where = f"where e.event_date >= '{since.isoformat()}'" if since else ""
    return read_frame(
        settings,
        f"""
        select e.stitched_user_id, e.event_time, e.event_date, e.event_type, e.event_name,
            e.is_page_view, e.is_active_event, e.content_type, e.content_id, e.device_type,
            e.revenue_usd, e.session_id, pv.time_on_page_seconds as time_on_page
        from fct_events as e
        left join fct_page_views as pv on pv.page_view_id = e.message_id
        {where}
        """,
    )


def engagement(settings: Settings) -> pd.DataFrame:
    """Per user and active day: engaged minutes and the engagement score (docs/metrics.md)."""
    return read_frame(
        settings,
        """
        select stitched_user_id, event_date, engaged_minutes, engagement_score
        from mart_user_engagement_daily
        """,
    )


def users(settings: Settings) -> pd.DataFrame:
    return read_frame(
        settings,
        """
        select stitched_user_id, first_active_at, first_touch_channel, first_device_type,
            plan, signed_up_at
        from dim_users
        """,
    )


def content(settings: Settings) -> pd.DataFrame:
    return read_frame(settings, "select * from stg_app__content")


def fight_nights(settings: Settings) -> pd.DatetimeIndex:
    """Every UTC day a fight event's main card starts, past and announced (upcoming
    ones too: the known future input of the forecasts)."""
    frame = read_frame(
        settings,
        """
        select distinct cast(starts_at as date) as fight_date
        from stg_app__content
        where content_type = 'fight_event' and starts_at is not null
        order by 1
        """,
    )
    return pd.DatetimeIndex(pd.to_datetime(frame["fight_date"]))
