{#- Incremental: the days from the earliest changed event day on are recomputed
    (macros/incremental.sql); a day depends on its own events and sessions only. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["event_date >= {{ changed_from_date() }}"],
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

    select
        event_date,
        count(*) as events,
        count(distinct case when is_active_event then stitched_user_id end) as active_users,
        count(case when is_page_view then 1 end) as page_views
    from events
    group by event_date

),

daily_sessions as (

    -- A session belongs to the day of its first event.
    select
        session_date,
        count(*) as sessions
    from sessions
    group by session_date

),

final as (

    select
        daily_events.event_date,
        daily_events.events,
        daily_events.active_users,
        coalesce(daily_sessions.sessions, 0) as sessions,
        daily_events.page_views
    from daily_events
    left join daily_sessions on daily_sessions.session_date = daily_events.event_date

)

select * from final
