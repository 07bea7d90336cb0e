{#- Incremental by user: the users whose events changed (or whose devices were re-stitched
    away from them) and the users whose accounts snapshot row changed are recomputed from
    all their events and sessions (macros/incremental_windows.sql dim_users_to_rewrite);
    a user the events no longer produce is deleted. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["stitched_user_id in {{ dim_users_to_rewrite() }}"],
        on_schema_change='fail',
    )
}}
{#- The rewrite set reads fct_events and int_identity_map; called here too, so that dbt
    records the dependency (the incremental branch alone is not rendered while dbt
    parses). -#}
{%- do dim_users_to_rewrite() %}

with

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where stitched_user_id in {{ dim_users_to_rewrite() }}
    {% endif %}

),

sessions as (

    select * from {{ ref('fct_sessions') }}
    {% if is_incremental() %}
    where stitched_user_id in {{ dim_users_to_rewrite() }}
    {% endif %}

),

accounts as (

    select * from {{ ref('stg_app__accounts') }}

),

activity as (

    select
        stitched_user_id,
        min(event_time) as first_seen_at,
        max(event_time) as last_seen_at,
        min(case when is_active_event then event_time end) as first_active_at,
        max(case when is_active_event then event_time end) as last_active_at,
        min(case when event_name = 'Signed Up' then event_time end) as signed_up_at,
        count(distinct device_id) as devices,
        max(case when user_id is not null then 1 else 0 end) as is_identified,
        sum(coalesce(revenue_usd, 0)) as revenue_usd
    from events
    group by stitched_user_id

),

first_sessions as (

    -- First touch: the user's earliest session.
    select
        *,
        row_number() over (
            partition by stitched_user_id order by started_at, session_id
        ) as session_rank
    from sessions

),

final as (

    select
        activity.stitched_user_id,
        activity.is_identified = 1 as is_identified,
        activity.first_seen_at,
        activity.last_seen_at,
        activity.first_active_at,
        activity.last_active_at,
        coalesce(activity.signed_up_at, accounts.created_at) as signed_up_at,
        accounts.created_at as account_created_at,
        coalesce(accounts.country, first_sessions.country) as country,
        coalesce(accounts.plan, case when activity.is_identified = 1 then 'free' end) as plan,
        first_sessions.source as first_touch_source,
        first_sessions.medium as first_touch_medium,
        first_sessions.campaign as first_touch_campaign,
        first_sessions.channel as first_touch_channel,
        first_sessions.landing_page_path as first_touch_landing_page,
        first_sessions.device_type as first_device_type,
        activity.devices,
        activity.revenue_usd,
        -- The accounts snapshot's country the row was built with (bookkeeping for the
        -- incremental build: `country` falls back to the first session's).
        accounts.country as _account_country
    from activity
    left join first_sessions
        on first_sessions.stitched_user_id = activity.stitched_user_id
        and first_sessions.session_rank = 1
    left join accounts on accounts.user_id = activity.stitched_user_id

)

select * from final
