"""The frames the models learn from, read from the built warehouse (either engine) and
the landed files. The only module of ml_assets that knows table and column names.

No reader returns events: the warehouse aggregates them (one row per user and day, per
user, per content item, per pair of items...), so what reaches pandas grows with users,
days and the catalog, not with the number of events (issue 19: the per-event frame
peaked at 9.4 GiB on 10M events). What needs the order of events (the recommendations'
held-out last view) is computed by window functions in the warehouse too. Every query
is portable between DuckDB and PostgreSQL: standard aggregates, CASE, window functions,
``date - integer``, ``extract`` and the ``"C"`` collation (code point order, the order
of Python's ``str``, which both engines know by that name).
"""

from datetime import date

import pandas as pd

from ml_assets import churn, recommendations, segments
from ringside.core.frames import ingestion_rates
from ringside.core.settings import Settings
from ringside.core.warehouse import read_frame

CONTENT_TYPES = ("article", "video", "fighter", "fight_event")


def _quoted(values: tuple[str, ...] | frozenset[str]) -> str:
    """A SQL list of string literals (constants of this package, never user input)."""
    return ", ".join(f"'{value}'" for value in sorted(values))


# Signups and revenue come from the business inputs (docs/metrics.md "Business
# metrics": signups = distinct users with a `Signed Up` that day, total revenue in USD),
# so the forecasts and anomalies read the same figures as the business dashboards.
DAILY_KPIS = f"""
with overview as (
    select event_date, active_users, page_views from mart_overview_daily
),
business as (
    select metric_date, signups, total_revenue_usd
    from int_business_inputs_daily
    where dimension = 'all'
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
select overview.*,
    coalesce(business.signups, 0) as signups,
    coalesce(business.total_revenue_usd, 0) as revenue_usd,
    {", ".join(f"coalesce(content.views_{kind}, 0) as views_{kind}" for kind in CONTENT_TYPES)}
from overview
left join business on business.metric_date = overview.event_date
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


EVENT_DATE_RANGE = (
    "select min(event_date) as first_day, max(event_date) as last_day from fct_events"
)


def event_date_range(settings: Settings) -> tuple[date, date] | None:
    """The first and last UTC day with any event; None before the first event."""
    row = read_frame(settings, EVENT_DATE_RANGE).iloc[0]
    if pd.isna(row["first_day"]):
        return None
    return pd.Timestamp(row["first_day"]).date(), pd.Timestamp(row["last_day"]).date()


def _count(condition: str) -> str:
    return f"cast(sum(case when {condition} then 1 else 0 end) as bigint)"


# Sessions, per user: a session's event days, split where more than ACTIVE_WINDOW_DAYS
# days pass between two of them (a client session id can come back after weeks). A
# window of ACTIVE_WINDOW_DAYS days then meets a session exactly when it meets one of
# its stretches (a stretch has no gap the window could fall into) and meets at most one
# (two stretches are further apart than the window is long), so counting stretches is
# counting distinct sessions: see churn.Activity.
SESSION_STRETCHES = f"""
session_days as (
    select distinct stitched_user_id, session_id, event_date
    from fct_events
    where session_id is not null and stitched_user_id is not null
),
session_gaps as (
    select
        stitched_user_id,
        session_id,
        event_date,
        case
            when lag(event_date) over (
                partition by stitched_user_id, session_id order by event_date
            ) >= event_date - {churn.ACTIVE_WINDOW_DAYS}
            then 0 else 1
        end as starts_stretch
    from session_days
),
session_numbered as (
    select
        stitched_user_id,
        session_id,
        event_date,
        sum(starts_stretch) over (
            partition by stitched_user_id, session_id
            order by event_date
            rows between unbounded preceding and current row
        ) as stretch
    from session_gaps
),
stretches as (
    select
        stitched_user_id,
        min(event_date) as first_day,
        max(event_date) as last_day
    from session_numbered
    group by stitched_user_id, session_id, stretch
)"""

_VIEWS_BY_TYPE = ", ".join(
    _count(f"is_page_view and content_type = '{kind}'") + f" as views_{kind}"
    for kind in churn.CONTENT_TYPES
)

# One row per user and UTC day with any event (heartbeats only: every count 0). Heartbeats
# are not activity (docs/metrics.md); page views (event_name NULL) and the named events
# counted here are active events, so only `active_events` and `mobile_events` need the
# flag. `last_started_at` / `last_cancelled_at`: the day's last subscription start and
# cancellation.
EVENT_DAYS = f"""
event_days as (
    select
        stitched_user_id,
        event_date,
        {_count("is_active_event")} as active_events,
        {_count("is_page_view")} as page_views,
        {_VIEWS_BY_TYPE},
        {_count(f"event_name = '{churn.ORDER_COMPLETED}'")} as orders,
        cast(coalesce(sum(case when event_name = '{churn.ORDER_COMPLETED}'
            then revenue_usd end), 0) as double precision) as order_revenue_usd,
        {_count(f"event_name = '{segments.EVENT_VIDEO_DONE}'")} as video_completions,
        {_count(f"event_name = '{segments.EVENT_SEARCH}'")} as searches,
        {_count(f"event_name in ({_quoted(segments.EVENTS_SOCIAL)})")} as social_actions,
        {_count(f"is_active_event and device_type in ({_quoted(segments.MOBILE_DEVICES)})")}
            as mobile_events,
        max(case when event_name = '{churn.SUBSCRIPTION_STARTED}' then event_time end)
            as last_started_at,
        max(case when event_name = '{churn.SUBSCRIPTION_CANCELLED}' then event_time end)
            as last_cancelled_at
    from fct_events
    where stitched_user_id is not null
    group by stitched_user_id, event_date
)"""

# churn.USER_DAY_COLUMNS: the event days with the session stretches starting on each, and
# `subscription_state`, the day's last subscription event: 1 a start, 0 a cancellation
# (also when both have the same time), NULL without one.
USER_DAYS = f"""
{EVENT_DAYS},
{SESSION_STRETCHES},
stretch_starts as (
    select stitched_user_id, first_day as event_date, count(*) as sessions_started
    from stretches
    group by stitched_user_id, first_day
),
user_days as (
    select
        event_days.*,
        coalesce(stretch_starts.sessions_started, 0) as sessions_started,
        case
            when last_started_at is null and last_cancelled_at is null then null
            when last_cancelled_at is null or last_started_at > last_cancelled_at then 1
            else 0
        end as subscription_state
    from event_days
    left join stretch_starts
        on stretch_starts.stitched_user_id = event_days.stitched_user_id
        and stretch_starts.event_date = event_days.event_date
)"""


def churn_activity(settings: Settings) -> churn.Activity:
    """What the churn model reads of the events (see ``churn.Activity``): one row per
    user and day, and the session stretches that span more than one day."""
    days = read_frame(
        settings,
        f"""
        with {USER_DAYS}
        select {", ".join(churn.USER_DAY_COLUMNS)}
        from user_days
        """,
    )
    long_sessions = read_frame(
        settings,
        f"""
        with {SESSION_STRETCHES}
        select stitched_user_id, first_day, last_day, count(*) as sessions
        from stretches
        where last_day > first_day
        group by stitched_user_id, first_day, last_day
        """,
    )
    return churn.Activity(days=days, long_sessions=long_sessions)


def user_behaviour(settings: Settings) -> pd.DataFrame:
    """One row per user with an active event: the totals of ``segments.BEHAVIOUR_COLUMNS``
    over all their events. Saturdays are UTC days; purchases are the ``Order Completed``
    events (``segments.EVENT_PURCHASE``), counted in ``orders``."""
    sums = ", ".join(
        f"cast(sum({column}) as bigint) as {column}"
        for column in segments.BEHAVIOUR_COLUMNS
        if column not in ("active_days", "saturday_events", "purchases")
    )
    return read_frame(
        settings,
        f"""
        with {EVENT_DAYS}
        select
            stitched_user_id,
            count(*) as active_days,
            cast(sum(orders) as bigint) as purchases,
            cast(sum(case when extract(dow from event_date) = {segments.SATURDAY_DOW}
                then active_events else 0 end)
                as bigint) as saturday_events,
            {sums}
        from event_days
        where active_events > 0
        group by stitched_user_id
        """,
    )


def content_views(settings: Settings) -> recommendations.ContentViews:
    """Content page views (a content type set) for the insights (see
    ``recommendations.ContentViews``): per type, day and hour, and per type and item,
    with their time on page (seconds, from fct_page_views; NULL when unknown)."""
    views = f"""
        with views as (
            select
                e.content_type,
                e.content_id,
                e.event_date,
                cast(extract(hour from e.event_time) as integer) as event_hour,
                pv.time_on_page_seconds as time_on_page,
                case when coalesce(pv.time_on_page_seconds, 0)
                    >= {recommendations.ENGAGED_SECONDS} then 1 else 0 end as engaged
            from fct_events as e
            left join fct_page_views as pv on pv.page_view_id = e.message_id
            where e.is_page_view and e.content_type is not null
        )"""
    slots = read_frame(
        settings,
        f"""{views}
        select content_type, event_date, event_hour,
            count(*) as views, cast(sum(engaged) as bigint) as engaged_views
        from views
        group by content_type, event_date, event_hour
        """,
    )
    items = read_frame(
        settings,
        f"""{views}
        select content_type, content_id,
            count(*) as views, cast(sum(engaged) as bigint) as engaged_views,
            cast(sum(time_on_page) as double precision) as time_on_page_sum,
            count(time_on_page) as time_on_page_known
        from views
        group by content_type, content_id
        """,
    )
    return recommendations.ContentViews(slots=slots, items=items)


# Each user's content page views in order, consecutive repeats of one item collapsed
# (recommendations._holdout, in SQL): the order of views matters only here, and window
# functions give it without sending a single view to pandas. `from_end` = 1 is the last
# view; ties in time are ordered by content id, in code point order as pandas sorts.
COLLAPSED_VIEWS = """
views as (
    select stitched_user_id as viewer, content_id, event_time
    from fct_events
    where is_page_view and content_id is not null and stitched_user_id is not null
),
sequenced as (
    select
        viewer,
        content_id,
        event_time,
        lag(content_id) over (
            partition by viewer order by event_time, content_id collate "C"
        ) as previous_content_id
    from views
),
collapsed as (
    select
        viewer,
        content_id,
        row_number() over (
            partition by viewer order by event_time desc, content_id collate "C" desc
        ) as from_end,
        count(*) over (partition by viewer) as user_views
    from sequenced
    where previous_content_id is null or previous_content_id <> content_id
)"""


def co_viewing(settings: Settings) -> pd.DataFrame:
    """Co-viewing counts per pair of items (``recommendations.CO_VIEWING_COLUMNS``):
    ``co_viewers`` over all views, ``training_co_viewers`` over the views the hit-rate
    evaluation trains on (all but each evaluated user's held-out last one). The diagonal
    (an item with itself) holds the item's viewers. Off the diagonal only the pairs that
    can reach an item's top ``TOP_N`` are returned: ``rank()`` by cosine keeps every pair
    tied with the last place, whose order by id pandas settles (the cosine is computed
    the same way, in doubles, on both sides). Rows grow with the catalog, not the views;
    the self-join costs what ``co_consumption``'s sparse product costs."""
    top = recommendations.TOP_N
    return read_frame(
        settings,
        f"""
        with {COLLAPSED_VIEWS},
        pairs as (
            select
                viewer,
                content_id,
                max(case when from_end > 1 or user_views = 1 then 1 else 0 end)
                    as in_training
            from collapsed
            group by viewer, content_id
        ),
        co as (
            select
                a.content_id,
                b.content_id as other_id,
                count(*) as co_viewers,
                cast(sum(a.in_training * b.in_training) as bigint) as training_co_viewers
            from pairs as a
            join pairs as b on b.viewer = a.viewer
            group by a.content_id, b.content_id
        ),
        item_viewers as (
            select
                content_id,
                cast(co_viewers as double precision) as viewers,
                cast(training_co_viewers as double precision) as training_viewers
            from co
            where other_id = content_id
        ),
        ranked as (
            select
                co.*,
                rank() over (
                    partition by co.content_id
                    order by cast(co.co_viewers as double precision)
                        / sqrt(one.viewers * other.viewers) desc
                ) as place,
                rank() over (
                    partition by co.content_id
                    order by coalesce(
                        cast(co.training_co_viewers as double precision)
                            / sqrt(nullif(one.training_viewers * other.training_viewers, 0)),
                        0
                    ) desc
                ) as training_place
            from co
            join item_viewers as one on one.content_id = co.content_id
            join item_viewers as other on other.content_id = co.other_id
            where co.other_id <> co.content_id
        )
        select content_id, other_id, co_viewers, training_co_viewers
        from ranked
        where place <= {top} or (training_co_viewers > 0 and training_place <= {top})
        union all
        select content_id, other_id, co_viewers, training_co_viewers
        from co
        where other_id = content_id
        """,
    )


def holdout_cases(settings: Settings) -> pd.DataFrame:
    """The hit-rate evaluation's cases (``recommendations.CASE_COLUMNS``): per pair of a
    user's previous and held-out last item, the number of users with that pair."""
    return read_frame(
        settings,
        f"""
        with {COLLAPSED_VIEWS}
        select prev.content_id as prev_id, held.content_id as held_id, count(*) as users
        from collapsed as held
        join collapsed as prev on prev.viewer = held.viewer and prev.from_end = 2
        where held.from_end = 1
        group by prev.content_id, held.content_id
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
