{#- Incremental by device: a device with changed events gets all its sessions rewritten
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

referrer_hosts as (

    select * from {{ ref('referrer_hosts') }}

),

ordered as (

    select
        *,
        row_number() over (
            partition by session_id order by event_time, message_id
        ) as event_index,
        row_number() over (
            partition by session_id, is_page_view order by event_time, message_id
        ) as page_view_index,
        row_number() over (
            partition by session_id, is_page_view order by event_time desc, message_id desc
        ) as page_view_index_from_end
    from events

),

first_events as (

    select * from ordered
    where event_index = 1

),

landing_pages as (

    select
        session_id,
        page_path,
        content_type,
        content_id
    from ordered
    where is_page_view and page_view_index = 1

),

exit_pages as (

    select
        session_id,
        page_path
    from ordered
    where is_page_view and page_view_index_from_end = 1

),

referrer_matches as (

    -- The most specific seed pattern wins when several match a host.
    select
        first_events.session_id,
        referrer_hosts.source,
        referrer_hosts.medium,
        row_number() over (
            partition by first_events.session_id
            order by {{ dbt.length('referrer_hosts.host_pattern') }} desc
        ) as match_rank
    from first_events
    inner join referrer_hosts on first_events.referrer_host like referrer_hosts.host_pattern

),

aggregated as (

    select
        session_id,
        min(event_time) as started_at,
        max(event_time) as ended_at,
        count(*) as events,
        count(case when is_page_view then 1 end) as page_views,
        count(case when event_type = 'track' and event_name <> 'Page Heartbeat' then 1 end)
            as interaction_events,
        max(case when event_name = 'Signed Up' then 1 else 0 end) as has_signup,
        max(case when event_name = 'Subscription Started' then 1 else 0 end)
            as has_subscription,
        max(case when event_name = 'Order Completed' then 1 else 0 end) as has_order,
        sum(coalesce(revenue_usd, 0)) as revenue_usd
    from events
    group by session_id

),

attributed as (

    -- docs/metrics.md: the first event's UTM parameters, else the referrer host (search
    -- engines -> organic, social hosts -> social, other hosts -> referral), else direct.
    -- A referrer on the site's own host is navigation, not a source (as GA excludes
    -- self-referrals).
    select
        first_events.session_id,
        case
            when first_events.utm_source is not null or first_events.utm_campaign is not null
                then 'campaign'
            when first_events.referrer_host is null
                or first_events.referrer_host = first_events.page_host then 'direct'
            when referrer_matches.medium = 'organic' then 'search'
            when referrer_matches.medium = 'social' then 'social'
            else 'referral'
        end as channel,
        first_events.referrer_host
    from first_events
    left join referrer_matches
        on referrer_matches.session_id = first_events.session_id
        and referrer_matches.match_rank = 1

),

final as (

    select
        first_events.session_id,
        first_events.device_id,
        first_events.stitched_user_id,
        first_events.client_session_id,
        first_events.event_date as session_date,
        aggregated.started_at,
        aggregated.ended_at,
        {{ seconds_between('aggregated.started_at', 'aggregated.ended_at') }} as duration_seconds,
        aggregated.events,
        aggregated.page_views,
        aggregated.interaction_events,
        -- docs/metrics.md: exactly one page/screen view and no track event but heartbeats.
        aggregated.page_views = 1 and aggregated.interaction_events = 0 as is_bounce,
        landing_pages.page_path as landing_page_path,
        landing_pages.content_type as landing_content_type,
        landing_pages.content_id as landing_content_id,
        exit_pages.page_path as exit_page_path,
        case attributed.channel
            when 'campaign' then coalesce(first_events.utm_source, '(not set)')
            when 'direct' then 'direct'
            when 'referral' then attributed.referrer_host
            else referrer_matches.source
        end as source,
        case attributed.channel
            when 'campaign' then coalesce(first_events.utm_medium, '(not set)')
            when 'direct' then 'none'
            when 'search' then 'organic'
            else attributed.channel
        end as medium,
        first_events.utm_campaign as campaign,
        attributed.channel,
        case when attributed.channel in ('search', 'social', 'referral')
            then attributed.referrer_host end as referrer_host,
        first_events.device_type,
        first_events.browser,
        first_events.os,
        first_events.country,
        aggregated.has_signup = 1 as has_signup,
        aggregated.has_subscription = 1 as has_subscription,
        aggregated.has_order = 1 as has_order,
        aggregated.has_signup + aggregated.has_subscription + aggregated.has_order > 0
            as is_converted,
        aggregated.revenue_usd,
        {{ build_stamp() }} as _built_at
    from first_events
    inner join aggregated on aggregated.session_id = first_events.session_id
    inner join attributed on attributed.session_id = first_events.session_id
    left join referrer_matches
        on referrer_matches.session_id = first_events.session_id
        and referrer_matches.match_rank = 1
    left join landing_pages on landing_pages.session_id = first_events.session_id
    left join exit_pages on exit_pages.session_id = first_events.session_id

)

select * from final
