{#- Incremental: the session days from the earliest changed event day on are recomputed
    (macros/incremental.sql). Whether a session is its user's first needs no older
    sessions: it is the earliest one read and starts at dim_users.first_seen_at. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["session_date >= {{ changed_from_date() }}"],
        on_schema_change='fail',
    )
}}
{#- changed_from_date() reads fct_events; called here too, so that dbt records the
    dependency (the incremental branch alone is not rendered while dbt parses). -#}
{%- do changed_from_date() %}

with

sessions as (

    select * from {{ ref('fct_sessions') }}
    {% if is_incremental() %}
    where session_date >= {{ changed_from_date() }}
    {% endif %}

),

users as (

    select * from {{ ref('dim_users') }}

),

ranked_sessions as (

    -- A user's first session is their earliest one, ordered as dim_users orders first
    -- touch, so new users here add up to dim_users' first_touch_* attribution. Among
    -- the sessions read, the user's earliest is their first ever when it starts at
    -- their first event (dim_users.first_seen_at): a tie at that instant is read too.
    select
        sessions.*,
        coalesce(sessions.campaign, '(none)') as campaign_key,
        -- Country comes from GeoIP at ingestion, absent when no database is configured.
        coalesce(sessions.country, '(none)') as country_key,
        row_number() over (
            partition by sessions.stitched_user_id
            order by sessions.started_at, sessions.session_id
        ) = 1 and sessions.started_at = users.first_seen_at as is_first_session
    from sessions
    left join users on users.stitched_user_id = sessions.stitched_user_id

),

daily as (

    select
        session_date,
        channel,
        source,
        medium,
        campaign_key as campaign,
        device_type,
        country_key as country,
        count(*) as sessions,
        count(distinct stitched_user_id) as users,
        count(case when is_first_session then 1 end) as new_users,
        count(case when is_bounce then 1 end) as bounced_sessions,
        sum(page_views) as page_views,
        sum(duration_seconds) as total_duration_seconds,
        count(case when is_converted then 1 end) as conversions,
        count(case when has_signup then 1 end) as sessions_with_signup,
        count(case when has_subscription then 1 end) as sessions_with_subscription,
        count(case when has_order then 1 end) as sessions_with_order,
        sum(revenue_usd) as revenue_usd
    from ranked_sessions
    group by session_date, channel, source, medium, campaign_key, device_type, country_key

),

final as (

    select
        {{ surrogate_key(
            ['session_date', 'channel', 'source', 'medium', 'campaign', 'device_type', 'country']
        ) }} as traffic_source_day_id,
        session_date,
        channel,
        source,
        medium,
        campaign,
        device_type,
        country,
        sessions,
        users,
        new_users,
        bounced_sessions,
        {{ proportion('bounced_sessions', 'sessions') }} as bounce_rate,
        page_views,
        {{ proportion('page_views', 'sessions') }} as page_views_per_session,
        total_duration_seconds,
        {{ proportion('total_duration_seconds', 'sessions') }} as avg_session_duration_seconds,
        conversions,
        {{ proportion('conversions', 'sessions') }} as conversion_rate,
        sessions_with_signup,
        sessions_with_subscription,
        sessions_with_order,
        revenue_usd
    from daily

)

select * from final
