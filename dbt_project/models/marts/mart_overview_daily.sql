with

events as (

    select * from {{ ref('int_events_sessionized') }}

),

daily_events as (

    select
        event_date,
        count(*) as events,
        count(distinct case when event_name is null or event_name <> 'Page Heartbeat' then stitched_user_id end) as active_users,
        count(case when is_page_view then 1 end) as page_views
    from events
    group by event_date

),

session_starts as (

    -- A session belongs to the day of its first event.
    select session_id, min(event_date) as session_date
    from events
    group by session_id

),

daily_sessions as (

    select session_date as event_date, count(*) as sessions
    from session_starts
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
    left join daily_sessions on daily_sessions.event_date = daily_events.event_date

)

select * from final
