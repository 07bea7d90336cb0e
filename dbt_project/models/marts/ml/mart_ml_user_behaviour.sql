{#- The user segments' input: one row per stitched user with an active event, their
    totals over every active day of mart_ml_user_activity_daily (heartbeat-only days
    count nowhere). Saturdays are UTC days.

    Incremental: the users whose events changed, or whose devices were stitched away
    from them (changed_users()), are rewritten from their days of
    mart_ml_user_activity_daily; a user left without an active day goes. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["stitched_user_id in {{ changed_users() }}"],
        on_schema_change='fail',
    )
}}
{#- The rewrite set reads fct_events and int_identity_map; called here too, so that dbt
    records the dependency (the incremental branch alone is not rendered while dbt
    parses). -#}
{%- do changed_users() %}
{%- set summed = ['active_events', 'page_views'] -%}
{%- for content_type in var('ml').content_types -%}
    {%- do summed.append('views_' ~ content_type) -%}
{%- endfor -%}
{%- do summed.extend(['video_completions', 'searches', 'social_actions', 'mobile_events']) -%}
{#- extract(dow ...): Sunday = 0 on both engines. -#}
{%- set saturday = 6 -%}

with

active_days as (

    select * from {{ ref('mart_ml_user_activity_daily') }}
    where active_events > 0
    {% if is_incremental() %}
        and stitched_user_id in {{ changed_users() }}
    {% endif %}

),

final as (

    select
        stitched_user_id,
        count(*) as active_days,
        {%- for column in summed %}
        cast(sum({{ column }}) as {{ dbt.type_bigint() }}) as {{ column }},
        {%- endfor %}
        -- Purchases are the `Order Completed` events.
        cast(sum(orders) as {{ dbt.type_bigint() }}) as purchases,
        cast(sum(case when extract(dow from event_date) = {{ saturday }}
            then active_events else 0 end) as {{ dbt.type_bigint() }}) as saturday_events
    from active_days
    group by stitched_user_id

)

select * from final
