{#- The daily series the forecasts and anomaly flags learn from: one row per UTC day
    with an event. Every figure is read from the mart that defines it; only the split of
    content views by type is summed here.

    Incremental: the days from the earliest changed event day on are rewritten, from the
    same days of the marts, and so are the days whose views by content type a new
    content snapshot changed (macros/ml_marts.sql). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=[
            "event_date >= {{ changed_from_date() }}"
            ~ " or event_date in {{ ml_content_type_changed_days() }}"
        ],
        on_schema_change='fail',
    )
}}
{#- The rewrite ranges read fct_events, the content snapshots and this model's own
    rows; called here too, so that dbt records the dependencies (the incremental branch
    alone is not rendered while dbt parses). -#}
{%- do changed_from_date() %}
{%- do ml_content_type_changed_days() %}
{%- set content_types = var('ml').content_types -%}

with

overview as (

    select
        event_date,
        active_users,
        page_views
    from {{ ref('mart_overview_daily') }}
    {% if is_incremental() %}
    where event_date >= {{ changed_from_date() }}
        or event_date in {{ ml_content_type_changed_days() }}
    {% endif %}

),

business as (

    -- The business catalog's new signups and total revenue (docs/metrics.md "Business
    -- metrics"), so the models read the figures the business dashboards show.
    select
        period_start as event_date,
        max(case when metric = 'new_signups' then value end) as signups,
        max(case when metric = 'total_revenue_usd' then value end) as revenue_usd
    from {{ ref('mart_business_metrics_daily') }}
    where grain = 'day'
        and dimension = 'all'
        and metric in ('new_signups', 'total_revenue_usd')
        {% if is_incremental() %}
        and period_start in (select event_date from overview)
        {% endif %}
    group by period_start

),

content as (

    select
        activity_date as event_date,
        {%- for content_type in content_types %}
        cast(sum(case when content_type = '{{ content_type }}' then views else 0 end)
            as {{ dbt.type_bigint() }}) as views_{{ content_type }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('mart_content_performance_daily') }}
    {% if is_incremental() %}
    where activity_date in (select event_date from overview)
    {% endif %}
    group by activity_date

),

final as (

    select
        overview.event_date,
        overview.active_users,
        overview.page_views,
        coalesce(business.signups, 0) as signups,
        coalesce(business.revenue_usd, 0) as revenue_usd,
        {%- for content_type in content_types %}
        coalesce(content.views_{{ content_type }}, 0) as views_{{ content_type }},
        {%- endfor %}
        (
            select max(content_snapshots.snapshot_at) as snapshot_at
            from {{ ref('stg_app__content') }} as content_snapshots
        ) as _content_snapshot_at
    from overview
    left join business on business.event_date = overview.event_date
    left join content on content.event_date = overview.event_date

)

select * from final
