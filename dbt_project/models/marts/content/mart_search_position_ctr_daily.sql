{#- Positions reported even without clicks (a results page of this many). -#}
{%- set listed_positions = 20 -%}

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

clicks as (

    -- Positions are 1-based; clicks without a usable position are left out.
    select
        search_date,
        position,
        count(*) as clicks
    from search_events
    where event_name = 'Search Result Clicked' and position >= 1
    group by search_date, position

),

daily_clicks as (

    select
        search_date,
        cast(sum(clicks) as {{ dbt.type_bigint() }}) as day_clicks
    from clicks
    group by search_date

),

listed_positions as (

    -- Positions 1..{{ listed_positions }} are reported for every day with searches listing
    -- them, clicked or not (0 clicks); deeper positions only where clicked.
    {% for position in range(1, listed_positions + 1) -%}
    select {{ position }} as position
    {%- if not loop.last %}
    union all
    {% endif -%}
    {%- endfor %}

),

searches as (

    select
        search_date,
        results_count,
        count(*) as searches
    from search_events
    where event_name = 'Products Searched' and results_count >= 1
    group by search_date, results_count

),

grid as (

    -- The day's positions 1..{{ listed_positions }} that some search listed, and every
    -- position clicked that day.
    select distinct
        searches.search_date,
        listed_positions.position
    from searches
    inner join listed_positions on listed_positions.position <= searches.results_count
    union
    select
        search_date,
        position
    from clicks

),

reach as (

    -- A search with n results lists positions 1..n.
    select
        grid.search_date,
        grid.position,
        cast(sum(searches.searches) as {{ dbt.type_bigint() }}) as searches_reaching_position
    from grid
    inner join searches
        on searches.search_date = grid.search_date
        and searches.results_count >= grid.position
    group by grid.search_date, grid.position

),

final as (

    select
        {{ surrogate_key(['grid.search_date', 'grid.position']) }} as search_position_day_id,
        grid.search_date,
        grid.position,
        coalesce(clicks.clicks, 0) as clicks,
        cast(coalesce(clicks.clicks, 0) as double precision)
            / nullif(daily_clicks.day_clicks, 0) as share_of_clicks,
        coalesce(reach.searches_reaching_position, 0) as searches_reaching_position,
        cast(coalesce(clicks.clicks, 0) as double precision)
            / nullif(reach.searches_reaching_position, 0) as position_ctr
    from grid
    left join clicks
        on clicks.search_date = grid.search_date
        and clicks.position = grid.position
    left join reach
        on reach.search_date = grid.search_date
        and reach.position = grid.position
    left join daily_clicks on daily_clicks.search_date = grid.search_date

)

select * from final
