{#- Content page views per content type, UTC day and hour, and how many were engaged:
    what the content insights (best publish hour and weekday, seasonal profiles) read.

    Incremental: the days from the earliest changed event day on are rewritten from
    those days' views; a view's time on page depends only on its own session, which is
    rebuilt, with all its events, when anything in it changes. -#}
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
        content_type,
        event_date,
        event_hour,
        count(*) as views,
        cast(sum(engaged) as {{ dbt.type_bigint() }}) as engaged_views
    from content_page_views
    group by content_type, event_date, event_hour

)

select * from final
