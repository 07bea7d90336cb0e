{#- Incremental: the days from the earliest changed event day on are recomputed
    (macros/incremental.sql); a user's day depends on that day's events and the
    sessions that started on it only. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["activity_date >= {{ changed_from_date() }}"],
        on_schema_change='fail',
    )
}}

with

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where event_date >= {{ changed_from_date() }}
    {% endif %}

),

sessions as (

    select * from {{ ref('fct_sessions') }}
    {% if is_incremental() %}
    where session_date >= {{ changed_from_date() }}
    {% endif %}

),

daily_events as (

    -- One row per user per UTC day with any event (heartbeats included).
    select
        stitched_user_id,
        event_date as activity_date,
        count(*) as events,
        count(case when is_page_view then 1 end) as page_views,
        -- App screens have no path: their screen name and content id stand in for it.
        count(distinct case when is_page_view then coalesce(
            page_path,
            'screen:' || coalesce(page_name, '') || coalesce(':' || content_id, '')
        ) end) as unique_page_views,
        count(case when event_name = 'Content Liked' then 1 end) as likes,
        count(case when event_name = 'Content Shared' then 1 end) as shares,
        count(case when event_name = 'Comment Posted' then 1 end) as comments,
        count(case when event_name = 'Products Searched' then 1 end) as searches,
        count(case when event_name = 'Video Content Completed' then 1 end)
            as video_completions,
        coalesce(sum(case when event_name = 'Page Heartbeat'
            then {{ json_double('properties', 'seconds') }} end), 0) as engaged_seconds,
        sum(coalesce(revenue_usd, 0)) as revenue_usd,
        -- docs/metrics.md: active = at least one event other than Page Heartbeat.
        max(case when is_active_event then 1 else 0 end) = 1 as is_active
    from events
    group by stitched_user_id, event_date

),

daily_sessions as (

    -- A session belongs to the day of its first event (docs/metrics.md).
    select
        stitched_user_id,
        session_date,
        count(*) as sessions,
        sum(duration_seconds) as session_duration_seconds
    from sessions
    group by stitched_user_id, session_date

),

final as (

    select
        daily_events.stitched_user_id,
        daily_events.activity_date,
        daily_events.is_active,
        daily_events.events,
        coalesce(daily_sessions.sessions, 0) as sessions,
        coalesce(daily_sessions.session_duration_seconds, 0) as session_duration_seconds,
        daily_events.page_views,
        daily_events.unique_page_views,
        daily_events.likes,
        daily_events.shares,
        daily_events.comments,
        daily_events.searches,
        daily_events.video_completions,
        daily_events.engaged_seconds,
        daily_events.revenue_usd
    from daily_events
    left join daily_sessions
        on daily_sessions.stitched_user_id = daily_events.stitched_user_id
        and daily_sessions.session_date = daily_events.activity_date

)

select * from final
