{#- Content page views per content type (the event's) and item over all days, with
    the engaged ones and the time on page where known: what the content insights weigh
    formats, fighters and weight classes by.

    Incremental: the items with a view on a rewritten day of
    int_ml_content_item_views_daily (from the earliest changed event day on) are
    totalled again from their days there. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["content_item_id in (
            select content_item_id from {{ ref('int_ml_content_item_views_daily') }}
            where event_date >= {{ changed_from_date() }}
        )"],
        on_schema_change='fail',
    )
}}
{#- The rewrite range reads fct_events; called here too, so that dbt records the
    dependency (the incremental branch alone is not rendered while dbt parses). -#}
{%- do changed_from_date() %}

with

item_days as (

    select * from {{ ref('int_ml_content_item_views_daily') }}
    {% if is_incremental() %}
    where content_item_id in (
        select content_item_id from {{ ref('int_ml_content_item_views_daily') }}
        where event_date >= {{ changed_from_date() }}
    )
    {% endif %}

),

final as (

    select
        content_item_id,
        content_type,
        content_id,
        cast(sum(views) as {{ dbt.type_bigint() }}) as views,
        cast(sum(engaged_views) as {{ dbt.type_bigint() }}) as engaged_views,
        cast(sum(time_on_page_sum) as {{ type_double() }}) as time_on_page_sum,
        cast(sum(time_on_page_known) as {{ dbt.type_bigint() }}) as time_on_page_known
    from item_days
    group by content_item_id, content_type, content_id

)

select * from final
