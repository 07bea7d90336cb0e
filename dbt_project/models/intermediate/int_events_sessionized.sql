{#- Incremental by device: a run re-sessionizes, for each device with events that are
    not built yet, its events from a "rewind point" on (the start of every built session
    the new events could join or split), and replaces those rows (delete+insert on
    message_id). Events before the rewind point cannot be affected, so the result equals
    a full rebuild; tests/test_incremental.py checks that on a generated platform. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='message_id',
        on_schema_change='fail',
    )
}}
{%- set timeout_seconds = var('session_timeout_minutes') | int * 60 -%}

with

-- Not materialized: the incremental branch reads it twice (new events by stamp, then
-- the rewound events of their devices); DuckDB and PostgreSQL would otherwise copy the
-- whole of staging, every column, on every micro-batch.
staged as not materialized (

    -- Crawler traffic (a fresh device per hit) is not people: like GA and PostHog,
    -- Ringside leaves it out of sessions, users and every mart. It stays in staging.
    -- `alias` calls are identity bookkeeping (int_identity_map reads them from staging),
    -- not activity: a server-side alias without an anonymousId would otherwise open a
    -- session of its own with no page view.
    select * from {{ ref('stg_tracking__events') }}
    where device_type is distinct from 'bot' and event_type is distinct from 'alias'

),

{% if is_incremental() %}

new_events as (

    -- Staged since the last successful build (macros/incremental.sql).
    select staged.device_id, staged.client_session_id, staged.event_time
    from staged
    where staged._built_at > {{ changed_since() }}

),

new_by_device as (

    select device_id, min(event_time) as first_new_at
    from new_events
    group by device_id

),

built_sessions as (

    select
        built.device_id,
        built.session_id,
        built.client_session_id,
        min(built.event_time) as started_at,
        max(built.event_time) as ended_at
    from {{ this }} as built
    inner join new_by_device on new_by_device.device_id = built.device_id
    group by built.device_id, built.session_id, built.client_session_id

),

first_rewind as (

    -- Sessions the new events can join (ended within the timeout before the first new
    -- event, or later) and client sessions the new events continue.
    select
        new_by_device.device_id,
        min(
            case
                when built_sessions.ended_at
                    >= {{ dbt.dateadd('second', -timeout_seconds, 'new_by_device.first_new_at') }}
                    or built_sessions.client_session_id in (
                        select new_events.client_session_id from new_events
                        where new_events.device_id = new_by_device.device_id
                    )
                    then built_sessions.started_at
            end
        ) as reopened_at,
        new_by_device.first_new_at
    from new_by_device
    left join built_sessions on built_sessions.device_id = new_by_device.device_id
    group by new_by_device.device_id, new_by_device.first_new_at

),

rewind as (

    -- Sessions near the first rewind point too, so that a timeout session interleaved
    -- with a client session is never cut in the middle.
    select
        first_rewind.device_id,
        min(
            case
                when built_sessions.ended_at >= {{ dbt.dateadd(
                    'second', -timeout_seconds,
                    'coalesce(first_rewind.reopened_at, first_rewind.first_new_at)') }}
                    then built_sessions.started_at
            end
        ) as near_at,
        coalesce(first_rewind.reopened_at, first_rewind.first_new_at) as reopened_at,
        first_rewind.first_new_at
    from first_rewind
    left join built_sessions on built_sessions.device_id = first_rewind.device_id
    group by first_rewind.device_id, first_rewind.reopened_at, first_rewind.first_new_at

),

events as (

    select staged.*
    from staged
    inner join rewind on rewind.device_id = staged.device_id
    where staged.event_time >= least(
        rewind.first_new_at, rewind.reopened_at, coalesce(rewind.near_at, rewind.reopened_at)
    )

),

{% else %}

events as (

    select * from staged

),

{% endif %}

keyed as (

    select
        events.*,
        case
            when events.utm_source is not null or events.utm_campaign is not null
                then coalesce(events.utm_source, '') || '|' || coalesce(events.utm_campaign, '')
        end as utm_key
    from events

),

timeout_breaks as (

    -- Events without a client session id: a gap over the timeout starts a new session.
    -- Events with one are grouped by it instead (docs/metrics.md), in their own partition.
    select
        *,
        case
            when lag(event_time) over device_events is null then 1
            when {{ seconds_between('lag(event_time) over device_events', 'event_time') }}
                > {{ timeout_seconds }} then 1
            else 0
        end as is_timeout_start
    from keyed
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
        event_date,
        {{ build_stamp() }} as _built_at
    from session_firsts

)

select * from final
