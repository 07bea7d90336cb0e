{%- set cap_seconds = var('session_timeout_minutes') | int * 60 -%}
{#- Incremental by device: a device with changed events gets all its page views rewritten
    (the sessionizer may have merged or split its sessions, so old session ids go). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='device_id',
        on_schema_change='fail',
    )
}}

with

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where device_id in {{ changed_devices() }}
    {% endif %}

),

sequenced as (

    select
        *,
        -- Every event carries the number of the latest page view at or before it in its
        -- session, so a heartbeat belongs to the page view it followed.
        count(case when is_page_view then 1 end) over session_order as page_view_index,
        lead(event_time) over session_order as next_event_at
    from events
    window session_order as (
        partition by session_id
        order by event_time, message_id
        rows between unbounded preceding and current row
    )

),

heartbeats as (

    select
        session_id,
        page_view_index,
        sum({{ json_double('properties', 'seconds') }}) as engaged_seconds
    from sequenced
    where event_name = 'Page Heartbeat' and page_view_index > 0
    group by session_id, page_view_index

),

page_views as (

    select
        *,
        count(*) over (partition by session_id) as page_views_in_session
    from sequenced
    where is_page_view

),

final as (

    select
        page_views.message_id as page_view_id,
        page_views.session_id,
        page_views.stitched_user_id,
        page_views.device_id,
        page_views.event_time as viewed_at,
        page_views.event_date as view_date,
        page_views.event_type,
        page_views.page_path,
        page_views.page_title,
        page_views.page_url,
        page_views.content_type,
        page_views.content_id,
        page_views.page_view_index,
        page_views.page_views_in_session,
        page_views.page_view_index = 1 as is_landing,
        page_views.page_view_index = page_views.page_views_in_session as is_exit,
        heartbeats.engaged_seconds,
        -- docs/metrics.md: engaged time from heartbeats; else time to the device's next event
        -- in the session, capped at the session timeout; else unknown (NULL, not zero).
        case
            when heartbeats.engaged_seconds is not null then heartbeats.engaged_seconds
            when page_views.next_event_at is not null then least(
                {{ seconds_between('page_views.event_time', 'page_views.next_event_at') }},
                {{ cap_seconds }}
            )
        end as time_on_page_seconds,
        case
            when heartbeats.engaged_seconds is not null then 'heartbeats'
            when page_views.next_event_at is not null then 'next_event'
        end as time_on_page_method,
        page_views.device_type,
        page_views.country,
        {{ build_stamp() }} as _built_at
    from page_views
    left join heartbeats
        on heartbeats.session_id = page_views.session_id
        and heartbeats.page_view_index = page_views.page_view_index

)

select * from final
