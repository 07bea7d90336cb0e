{#- The day-level inputs of the business metric catalog (vars.business_metrics): one
    row per day and slice, one column per numerator or denominator the catalog names.
    Existing marts are reused; only the subscription state and the signup, revenue and
    visitor counts are computed from fct_events. Columns other than the audience ones
    exist for the 'all' slice only (NULL on device slices).

    Incremental (macros/incremental_cohorts.sql): every input of a day is that day's
    rows of its source, so the days from the earliest changed event day on (and new
    days after the last one built) are rewritten from those days of the sources; a
    device type seen for the first time gets its rows on every day. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["metric_date >= {{ day_rewrite_from('metric_date') }}"],
        on_schema_change='fail',
    )
}}

with

active_users as (

    select * from {{ ref('mart_active_users_daily') }}
    {% if is_incremental() %}
    where activity_date >= {{ day_rewrite_from('metric_date') }}
        -- A device type seen for the first time: its rows of every day.
        or (
            device_type <> 'all'
            and device_type not in (
                select dimension_value from {{ this }} where dimension = 'device_type'
            )
        )
    {% endif %}

),

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where event_date >= {{ day_rewrite_from('metric_date') }}
    {% endif %}

),

subscriptions as (

    select * from {{ ref('int_business_subscriptions_daily') }}
    {% if is_incremental() %}
    where metric_date >= {{ day_rewrite_from('metric_date') }}
    {% endif %}

),

user_engagement as (

    select * from {{ ref('mart_user_engagement_daily') }}
    {% if is_incremental() %}
    where event_date >= {{ day_rewrite_from('metric_date') }}
    {% endif %}

),

content_performance as (

    select * from {{ ref('mart_content_performance_daily') }}
    {% if is_incremental() %}
    where activity_date >= {{ day_rewrite_from('metric_date') }}
    {% endif %}

),

search as (

    select * from {{ ref('mart_search_daily') }}
    {% if is_incremental() %}
    where search_date >= {{ day_rewrite_from('metric_date') }}
    {% endif %}

),

visitor_days as (

    -- One row per stitched user and day with a page or screen view, flagged when the
    -- same user signed up that day.
    select
        event_date,
        stitched_user_id,
        max(case when event_name = 'Signed Up' then 1 else 0 end) as signed_up
    from events
    where is_page_view or event_name = 'Signed Up'
    group by event_date, stitched_user_id
    having max(case when is_page_view then 1 else 0 end) = 1

),

daily_visitors as (

    select
        event_date,
        count(*) as visitors,
        sum(signed_up) as converted_visitors
    from visitor_days
    group by event_date

),

daily_events as (

    select
        event_date,
        count(distinct case when event_name = 'Signed Up' then stitched_user_id end)
            as signups,
        sum(case when event_name = 'Order Completed' then revenue_usd end)
            as ppv_revenue_usd,
        sum(revenue_usd) as total_revenue_usd
    from events
    where event_name in ('Signed Up', 'Order Completed') or revenue_usd is not null
    group by event_date

),

daily_engagement as (

    select
        event_date,
        sum(engaged_minutes) * 60 as engaged_seconds,
        count(case when is_active then 1 end) as engaged_users
    from user_engagement
    group by event_date

),

daily_content as (

    select
        activity_date,
        sum(views) as content_views
    from content_performance
    group by activity_date

),

daily_search as (

    select
        search_date,
        sum(searches) as searches,
        sum(result_clicks) as search_clicks
    from search
    group by search_date

),

audience as (

    -- The day spine: mart_active_users_daily holds every day from the first to the
    -- last activity day, for 'all' and every device type.
    select
        activity_date as metric_date,
        case when device_type = 'all' then 'all' else 'device_type' end as dimension,
        device_type as dimension_value,
        daily_active_users,
        weekly_active_users,
        monthly_active_users
    from active_users

),

final as (

    select
        audience.metric_date,
        cast(audience.dimension as {{ dbt.type_string() }}) as dimension,
        cast(audience.dimension_value as {{ dbt.type_string() }}) as dimension_value,
        audience.daily_active_users,
        audience.weekly_active_users,
        audience.monthly_active_users,
        -- A quiet day counts 0 on the platform-wide slice; device slices have no value.
        {%- for column, source in [
            ('signups', 'daily_events.signups'),
            ('visitors', 'daily_visitors.visitors'),
            ('converted_visitors', 'daily_visitors.converted_visitors'),
            ('new_subscriptions', 'subscriptions.new_subscriptions'),
            ('cancellations', 'subscriptions.cancellations'),
            ('subscribers_at_start', 'subscriptions.subscribers_at_start'),
            ('paying_subscribers', 'subscriptions.paying_subscribers'),
            ('mrr_usd', 'subscriptions.mrr_usd'),
            ('ppv_revenue_usd', 'daily_events.ppv_revenue_usd'),
            ('total_revenue_usd', 'daily_events.total_revenue_usd'),
            ('content_views', 'daily_content.content_views'),
            ('engaged_seconds', 'daily_engagement.engaged_seconds'),
            ('engaged_users', 'daily_engagement.engaged_users'),
            ('searches', 'daily_search.searches'),
            ('search_clicks', 'daily_search.search_clicks'),
        ] %}
        case when audience.dimension = 'all'
            then cast(coalesce({{ source }}, 0) as {{ type_double() }})
        end as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from audience
    left join subscriptions on subscriptions.metric_date = audience.metric_date
    left join daily_events on daily_events.event_date = audience.metric_date
    left join daily_visitors on daily_visitors.event_date = audience.metric_date
    left join daily_engagement on daily_engagement.event_date = audience.metric_date
    left join daily_content on daily_content.activity_date = audience.metric_date
    left join daily_search on daily_search.search_date = audience.metric_date

)

select * from final
