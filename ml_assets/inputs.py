"""The frames the models learn from: each a plain read of a documented mart of the built
warehouse (either engine), mostly those of ``dbt_project/models/marts/ml``, whose
vocabulary is ``vars.ml`` of ``dbt_project.yml``. The only module of ml_assets that
knows table and column names.

What a frame holds (per user and day, per item, per pair of items...) is computed by
dbt, so what reaches pandas grows with users, days and the catalog, not with the number
of events (issue 19), and a figure such as the daily signups is the business mart's,
not a second computation of it.

One input is not a mart: the invalid-event rate, read from the landed files by
``ringside.core.frames.ingestion_rates``. Quarantined lines never reach the warehouse
(neither engine loads them), and the rate is counted by day of ingestion over every
landed file, including files no build has read yet; the quarantine check reads the same
function, so both count arrivals one way.
"""

from datetime import date

import pandas as pd

from ml_assets import churn_features, content_insights, segments
from ringside.core.frames import ingestion_rates
from ringside.core.settings import Settings
from ringside.core.warehouse import read_frame

CONTENT_TYPES = ("article", "video", "fighter", "fight_event")

# The anomaly flags take the series in this order (after them, the invalid-event rate).
DAILY_KPIS = f"""
select event_date, active_users, page_views, signups, revenue_usd,
    {", ".join(f"views_{kind}" for kind in CONTENT_TYPES)}
from mart_ml_kpis_daily
order by event_date
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


def event_date_range(settings: Settings) -> tuple[date, date] | None:
    """The first and last UTC day with any event; None before the first event."""
    frame = read_frame(settings, "select event_date from mart_overview_daily")
    days = pd.to_datetime(frame["event_date"])
    if days.empty:
        return None
    return days.min().date(), days.max().date()


def churn_activity(settings: Settings) -> churn_features.Activity:
    """What the churn model reads of the events (see ``churn_features.Activity``): one row per
    user and day, and the session stretches that span more than one day."""
    days = read_frame(
        settings,
        f"select {', '.join(churn_features.USER_DAY_COLUMNS)} from mart_ml_user_activity_daily",
    )
    long_sessions = read_frame(
        settings,
        f"select {', '.join(churn_features.LONG_SESSION_COLUMNS)} from mart_ml_user_long_sessions",
    )
    return churn_features.Activity(days=days, long_sessions=long_sessions)


def user_behaviour(settings: Settings) -> pd.DataFrame:
    """One row per user with an active event: the totals of ``segments.BEHAVIOUR_COLUMNS``
    over all their events. Saturdays are UTC days; purchases are the ``Order Completed``
    events."""
    return read_frame(
        settings,
        f"select {segments.USER}, {', '.join(segments.BEHAVIOUR_COLUMNS)} "
        "from mart_ml_user_behaviour",
    )


def content_views(settings: Settings) -> content_insights.ContentViews:
    """Content page views (a content type set) for the insights (see
    ``content_insights.ContentViews``): per type, day and hour, and per type and item,
    with their time on page (seconds, from fct_page_views; NULL when unknown)."""
    slots = read_frame(
        settings,
        """
        select content_type, event_date, event_hour, views, engaged_views
        from mart_ml_content_views_hourly
        """,
    )
    items = read_frame(
        settings,
        """
        select content_type, content_id, views, engaged_views, time_on_page_sum,
            time_on_page_known
        from mart_ml_content_items
        """,
    )
    return content_insights.ContentViews(slots=slots, items=items)


def co_viewing(settings: Settings) -> pd.DataFrame:
    """Co-viewing counts per pair of items (``recommendations.CO_VIEWING_COLUMNS``):
    ``co_viewers`` over all views, ``training_co_viewers`` over the views the hit-rate
    evaluation trains on (all but each evaluated user's held-out last one). The diagonal
    (an item with itself) holds the item's viewers; off it, the pairs that can reach an
    item's top ``recommendations.TOP_N``, ties with the last place included, whose order
    by id pandas settles."""
    return read_frame(
        settings,
        "select content_id, other_id, co_viewers, training_co_viewers from mart_ml_co_viewing",
    )


def holdout_cases(settings: Settings) -> pd.DataFrame:
    """The hit-rate evaluation's cases (``recommendations.CASE_COLUMNS``): per pair of a
    user's previous and held-out last item, the number of users with that pair."""
    return read_frame(settings, "select prev_id, held_id, users from mart_ml_holdout_cases")


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
    return read_frame(settings, "select * from dim_content")


def fight_nights(settings: Settings) -> pd.DatetimeIndex:
    """Every UTC day a fight event's main card starts, past and announced (upcoming
    ones too: the known future input of the forecasts)."""
    frame = read_frame(settings, "select fight_date from mart_ml_fight_nights order by fight_date")
    return pd.DatetimeIndex(pd.to_datetime(frame["fight_date"]))
