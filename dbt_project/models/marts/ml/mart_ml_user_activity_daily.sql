{#- What the churn model and the user segments read of a user's day: one row per
    stitched user and UTC day with any event (heartbeats only: every count 0).

    Sessions are counted by stretch (ml_assets/churn_features.py, Activity): a session's event
    days, split where more than var('ml').session_stretch_gap_days days pass between two
    of them; `sessions_started` counts the stretches starting on the day.

    Incremental: the days from the earliest changed event day on are rewritten from
    those days' events; whether such a day starts a stretch depends on the session's
    previous day, so session days are read from the gap's length earlier. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["event_date >= {{ changed_from_date() }}"],
        on_schema_change='fail',
    )
}}
{%- set ml = var('ml') -%}

with

events as (

    select * from {{ ref('fct_events') }}
    where stitched_user_id is not null
    {% if is_incremental() %}
        and event_date >= {{ lookback_start(ml.session_stretch_gap_days) }}
    {% endif %}

),

event_days as (

    -- Heartbeats are not activity (docs/metrics.md): page views (event_name NULL) and
    -- the named events counted here are active events, so only `active_events` and
    -- `mobile_events` need the flag. `last_started_at` / `last_cancelled_at`: the day's
    -- last subscription start and cancellation.
    select
        stitched_user_id,
        event_date,
        {{ ml_count('is_active_event') }} as active_events,
        {{ ml_count('is_page_view') }} as page_views,
        {%- for content_type in ml.content_types %}
        {{ ml_count("is_page_view and content_type = '" ~ content_type ~ "'") }}
            as views_{{ content_type }},
        {%- endfor %}
        {{ ml_count("event_name = 'Order Completed'") }} as orders,
        cast(coalesce(sum(case when event_name = 'Order Completed' then revenue_usd end), 0)
            as {{ type_double() }}) as order_revenue_usd,
        {{ ml_count("event_name = 'Video Content Completed'") }} as video_completions,
        {{ ml_count("event_name = 'Products Searched'") }} as searches,
        {{ ml_count("event_name in (" ~ ml_quoted(ml.social_events) ~ ")") }} as social_actions,
        {{ ml_count(
            "is_active_event and device_type in (" ~ ml_quoted(ml.mobile_device_types) ~ ")"
        ) }} as mobile_events,
        max(case when event_name = 'Subscription Started' then event_time end)
            as last_started_at,
        max(case when event_name = 'Subscription Cancelled' then event_time end)
            as last_cancelled_at
    from events
    {% if is_incremental() %}
    where event_date >= {{ changed_from_date() }}
    {% endif %}
    group by stitched_user_id, event_date

),

session_days as (

    select distinct
        stitched_user_id,
        session_id,
        event_date
    from events
    where session_id is not null

),

stretch_starts as (

    -- A session day starts a stretch unless the session's previous day is at most the
    -- gap's length before it.
    select
        stitched_user_id,
        event_date,
        case
            when lag(event_date) over (
                partition by stitched_user_id, session_id order by event_date
            ) >= event_date - {{ ml.session_stretch_gap_days }}
            then 0 else 1
        end as starts_stretch
    from session_days

),

sessions_started as (

    select
        stitched_user_id,
        event_date,
        cast(sum(starts_stretch) as {{ dbt.type_bigint() }}) as sessions_started
    from stretch_starts
    group by stitched_user_id, event_date

),

final as (

    select
        event_days.stitched_user_id,
        event_days.event_date,
        event_days.active_events,
        event_days.page_views,
        {%- for content_type in ml.content_types %}
        event_days.views_{{ content_type }},
        {%- endfor %}
        event_days.orders,
        event_days.order_revenue_usd,
        event_days.video_completions,
        event_days.searches,
        event_days.social_actions,
        event_days.mobile_events,
        coalesce(sessions_started.sessions_started, 0) as sessions_started,
        -- The day's last subscription event: 1 a start, 0 a cancellation (also when both
        -- have the same time), NULL without one.
        case
            when event_days.last_started_at is null and event_days.last_cancelled_at is null
                then null
            when
                event_days.last_cancelled_at is null
                or event_days.last_started_at > event_days.last_cancelled_at
                then 1
            else 0
        end as subscription_state
    from event_days
    left join sessions_started
        on sessions_started.stitched_user_id = event_days.stitched_user_id
        and sessions_started.event_date = event_days.event_date

)

select * from final
