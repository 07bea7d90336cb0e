with

events as (

    select * from {{ ref('fct_events') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

engagement_weights as (

    select * from {{ ref('engagement_weights') }}

),

daily_events as (

    -- One row per user per UTC day with any event (heartbeats included).
    select
        stitched_user_id,
        event_date,
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
            then {{ json_double('properties', 'seconds') }} end), 0) / 60.0 as engaged_minutes,
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

weights as (

    -- The seed as one row of weights; an activity missing from the seed weighs 0.
    select
        coalesce(max(case when activity = 'page_views' then weight end), 0)
            as page_views_weight,
        coalesce(max(case when activity = 'engaged_minutes' then weight end), 0)
            as engaged_minutes_weight,
        coalesce(max(case when activity = 'video_completions' then weight end), 0)
            as video_completions_weight,
        coalesce(max(case when activity = 'likes' then weight end), 0) as likes_weight,
        coalesce(max(case when activity = 'shares' then weight end), 0) as shares_weight,
        coalesce(max(case when activity = 'comments' then weight end), 0) as comments_weight,
        coalesce(max(case when activity = 'searches' then weight end), 0) as searches_weight
    from engagement_weights

),

active_days as (

    select stitched_user_id, event_date as active_date
    from daily_events
    where is_active

),

activity_windows as (

    -- Days active in the 28-day window [d-27, d] ending on each row's day.
    select
        daily_events.stitched_user_id,
        daily_events.event_date,
        count(active_days.active_date) as days_active_28d
    from daily_events
    left join active_days
        on active_days.stitched_user_id = daily_events.stitched_user_id
        and active_days.active_date <= daily_events.event_date
        and active_days.active_date
            >= cast({{ dbt.dateadd('day', -27, 'daily_events.event_date') }} as date)
    group by daily_events.stitched_user_id, daily_events.event_date

),

activity_history as (

    select
        stitched_user_id,
        event_date,
        max(case when is_active then event_date end) over (
            partition by stitched_user_id
            order by event_date
            rows between unbounded preceding and current row
        ) as last_activity_date,
        max(case when is_active then event_date end) over (
            partition by stitched_user_id
            order by event_date
            rows between unbounded preceding and 1 preceding
        ) as previous_activity_date
    from daily_events

),

final as (

    select
        daily_events.stitched_user_id,
        daily_events.event_date,
        coalesce(daily_sessions.sessions, 0) as sessions,
        coalesce(daily_sessions.session_duration_seconds, 0) as session_duration_seconds,
        daily_events.page_views,
        daily_events.unique_page_views,
        daily_events.likes,
        daily_events.shares,
        daily_events.comments,
        daily_events.searches,
        -- Content created = comments posted: the only user-generated content the
        -- tracking plan records.
        daily_events.comments as content_created,
        daily_events.video_completions,
        daily_events.engaged_minutes,
        least(
            daily_events.page_views * weights.page_views_weight
            + daily_events.engaged_minutes * weights.engaged_minutes_weight
            + daily_events.video_completions * weights.video_completions_weight
            + daily_events.likes * weights.likes_weight
            + daily_events.shares * weights.shares_weight
            + daily_events.comments * weights.comments_weight
            + daily_events.searches * weights.searches_weight,
            100
        ) as engagement_score,
        daily_events.is_active,
        activity_windows.days_active_28d,
        case
            when activity_windows.days_active_28d >= 20 then 'power'
            when activity_windows.days_active_28d >= 8 then 'core'
            when activity_windows.days_active_28d >= 1 then 'casual'
            else 'dormant'
        end as activity_level,
        activity_history.last_activity_date,
        {{ dbt.datediff('activity_history.previous_activity_date', 'daily_events.event_date', 'day') }}
            as days_since_previous_activity
    from daily_events
    cross join weights
    inner join activity_windows
        on activity_windows.stitched_user_id = daily_events.stitched_user_id
        and activity_windows.event_date = daily_events.event_date
    inner join activity_history
        on activity_history.stitched_user_id = daily_events.stitched_user_id
        and activity_history.event_date = daily_events.event_date
    left join daily_sessions
        on daily_sessions.stitched_user_id = daily_events.stitched_user_id
        and daily_sessions.session_date = daily_events.event_date

)

select * from final
