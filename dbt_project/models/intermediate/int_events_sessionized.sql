{%- set timeout_seconds = var('session_timeout_minutes') | int * 60 -%}

with

events as (

    select * from {{ ref('stg_tracking__events') }}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

stitched as (

    select
        events.*,
        -- A device's last known user owns all its events, retroactively (metrics.md).
        coalesce(identity_map.user_id, events.user_id, events.device_id) as stitched_user_id,
        case
            when events.utm_source is not null or events.utm_campaign is not null
                then coalesce(events.utm_source, '') || '|' || coalesce(events.utm_campaign, '')
        end as utm_key
    from events
    left join identity_map on identity_map.device_id = events.device_id

),

timeout_breaks as (

    -- Events without a client session id: a gap over the timeout starts a new session.
    -- Events with one are grouped by it instead (metrics.md), in their own partition.
    select
        *,
        case
            when lag(event_time) over device_events is null then 1
            when {{ seconds_between('lag(event_time) over device_events', 'event_time') }}
                > {{ timeout_seconds }} then 1
            else 0
        end as is_timeout_start
    from stitched
    window device_events as (
        partition by device_id, client_session_id
        order by event_time, message_id
    )

),

timeout_segments as (

    select
        *,
        sum(is_timeout_start) over (
            partition by device_id, client_session_id
            order by event_time, message_id
            rows between unbounded preceding and current row
        ) as timeout_segment
    from timeout_breaks

),

campaign_runs as (

    -- Running count of events carrying a campaign, so the newest campaign seen so far
    -- can be read back with first_value (portable: PostgreSQL has no IGNORE NULLS).
    select
        *,
        count(utm_key) over (
            partition by device_id, client_session_id, timeout_segment
            order by event_time, message_id
            rows between unbounded preceding and current row
        ) as campaign_run
    from timeout_segments

),

campaign_context as (

    select
        *,
        first_value(utm_key) over (
            partition by device_id, client_session_id, timeout_segment, campaign_run
            order by event_time, message_id
        ) as current_utm_key
    from campaign_runs

),

campaign_breaks as (

    -- A new non-empty campaign that differs from the session's campaign starts a session
    -- (client-session-id sessions are never split).
    select
        *,
        case
            when client_session_id is not null then 0
            when is_timeout_start = 1 then 1
            when utm_key is not null
                and utm_key <> coalesce(
                    lag(current_utm_key) over (
                        partition by device_id, client_session_id, timeout_segment
                        order by event_time, message_id
                    ),
                    ''
                ) then 1
            else 0
        end as is_session_start
    from campaign_context

),

session_numbers as (

    select
        *,
        sum(is_session_start) over (
            partition by device_id, client_session_id
            order by event_time, message_id
            rows between unbounded preceding and current row
        ) as session_number
    from campaign_breaks

),

session_firsts as (

    select
        *,
        first_value(message_id) over (
            partition by device_id, client_session_id, session_number
            order by event_time, message_id
        ) as session_first_message_id
    from session_numbers

),

final as (

    select
        message_id,
        {{ surrogate_key(['device_id', 'session_first_message_id']) }} as session_id,
        device_id,
        stitched_user_id,
        anonymous_id,
        user_id,
        previous_id,
        client_session_id,
        event_type,
        event_name,
        page_name,
        is_page_view,
        content_type,
        content_id,
        page_url,
        page_path,
        page_title,
        page_referrer,
        page_search,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_content,
        device_type,
        browser,
        os,
        country,
        city,
        locale,
        properties,
        traits,
        event_time,
        event_date
    from session_firsts

)

select * from final
