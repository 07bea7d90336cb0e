{#- Content page views per content type (the event's), item and UTC day, with the
    engaged ones and their time on page: the days mart_ml_content_items totals.

    Incremental: the days from the earliest changed event day on are rewritten, as in
    mart_ml_content_views_hourly. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["event_date >= {{ changed_from_date() }}"],
        on_schema_change='fail',
    )
}}

with

content_page_views as (

    {{ ml_content_page_views(changed_from_date() if is_incremental() else none) }}

),

final as (

    select
        {{ surrogate_key(['content_type', 'content_id']) }} as content_item_id,
        content_type,
        content_id,
        event_date,
        count(*) as views,
        cast(sum(engaged) as {{ dbt.type_bigint() }}) as engaged_views,
        cast(sum(time_on_page) as {{ type_double() }}) as time_on_page_sum,
        count(time_on_page) as time_on_page_known
    from content_page_views
    group by content_type, content_id, event_date

)

select * from final
