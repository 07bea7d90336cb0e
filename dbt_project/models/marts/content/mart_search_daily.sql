{#- Incremental: the days from the earliest changed event day on are recomputed
    (macros/incremental.sql); a day depends on its own search events only. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["search_date >= {{ changed_from_date() }}"],
        on_schema_change='fail',
    )
}}

with

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where event_date >= {{ changed_from_date() }}
    {% endif %}

),

search_events as (

    {{ search_events('events') }}

),

searches as (

    select
        search_date,
        query,
        count(*) as searches,
        count(distinct stitched_user_id) as searchers,
        count(case when results_count = 0 then 1 end) as zero_result_searches,
        cast(avg(results_count) as double precision) as avg_results_count
    from search_events
    where event_name = 'Products Searched'
    group by search_date, query

),

clicks as (

    select
        search_date,
        query,
        count(*) as result_clicks,
        count(distinct stitched_user_id) as clickers,
        -- Positions are 1-based; a missing or non-positive one is left out of the mean.
        cast(avg(case when position >= 1 then position end) as double precision)
            as avg_clicked_position
    from search_events
    where event_name = 'Search Result Clicked'
    group by search_date, query

),

query_days as (

    select
        search_date,
        query
    from searches
    union
    select
        search_date,
        query
    from clicks

),

joined as (

    select
        query_days.search_date,
        query_days.query,
        coalesce(searches.searches, 0) as searches,
        coalesce(searches.searchers, 0) as searchers,
        coalesce(searches.zero_result_searches, 0) as zero_result_searches,
        searches.avg_results_count,
        coalesce(clicks.result_clicks, 0) as result_clicks,
        coalesce(clicks.clickers, 0) as clickers,
        clicks.avg_clicked_position
    from query_days
    left join searches
        on searches.search_date = query_days.search_date
        and searches.query = query_days.query
    left join clicks
        on clicks.search_date = query_days.search_date
        and clicks.query = query_days.query

),

final as (

    select
        {{ surrogate_key(['search_date', 'query']) }} as search_query_day_id,
        search_date,
        query,
        row_number() over (
            partition by search_date
            order by searches desc, searchers desc, result_clicks desc, query asc
        ) as query_rank,
        searches,
        searchers,
        zero_result_searches,
        cast(zero_result_searches as double precision) / nullif(searches, 0)
            as zero_result_rate,
        avg_results_count,
        result_clicks,
        clickers,
        cast(result_clicks as double precision) / nullif(searches, 0) as ctr,
        avg_clicked_position
    from joined

)

select * from final
