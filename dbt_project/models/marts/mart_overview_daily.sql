with

events as (

    select * from {{ ref('fct_events') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

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
    select session_date, count(*) as sessions
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
