{#- Incremental: rewrites the events sessionized since the last successful build and
    every event of a device whose user changed (a login re-attributes its history). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='message_id',
        on_schema_change='fail',
    )
}}

with

events as (

    select * from {{ ref('int_events_sessionized') }}
    {% if is_incremental() %}
    where _built_at > {{ changed_since() }}
        or device_id in (
            select device_id from {{ ref('int_identity_map') }}
            where _built_at > {{ changed_since() }}
        )
    {% endif %}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

currency_rates as (

    select * from {{ ref('currency_rates') }}

),

typed as (

    select
        events.*,
        -- A device's last known user owns all its events, retroactively (docs/metrics.md);
        -- applied here, on every build, so a login re-attributes the device's history.
        coalesce(identity_map.user_id, events.user_id, events.device_id) as stitched_user_id,
        {{ url_host('page_referrer') }} as referrer_host,
        {{ url_host('page_url') }} as page_host,
        {{ to_money(json_text('properties', 'revenue')) }} as revenue,
        upper({{ json_text('properties', 'currency') }}) as currency
    from events
    left join identity_map on identity_map.device_id = events.device_id

),

final as (

    select
        typed.message_id,
        typed.session_id,
        typed.device_id,
        typed.stitched_user_id,
        typed.anonymous_id,
        typed.user_id,
        typed.previous_id,
        typed.client_session_id,
        typed.event_type,
        typed.event_name,
        typed.page_name,
        typed.is_page_view,
        -- docs/metrics.md: any event other than Page Heartbeat makes its user active that day.
        coalesce(typed.event_name, '') <> 'Page Heartbeat' as is_active_event,
        typed.content_type,
        typed.content_id,
        typed.page_url,
        typed.page_host,
        typed.page_path,
        typed.page_title,
        typed.page_referrer,
        typed.referrer_host,
        typed.page_search,
        typed.utm_source,
        typed.utm_medium,
        typed.utm_campaign,
        typed.utm_term,
        typed.utm_content,
        typed.device_type,
        typed.browser,
        typed.os,
        typed.country,
        typed.city,
        typed.locale,
        typed.revenue,
        typed.currency,
        cast(
            typed.revenue * cast(currency_rates.usd_per_unit as {{ type_money() }})
            as {{ type_money() }}
        ) as revenue_usd,
        typed.properties,
        typed.traits,
        typed.event_time,
        typed.event_date,
        {{ build_stamp() }} as _built_at
    from typed
    left join currency_rates on currency_rates.currency = typed.currency

)

select * from final
