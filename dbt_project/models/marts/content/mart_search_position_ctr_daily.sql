with

events as (

    select * from {{ ref('fct_events') }}

),

search_events as (

    select
        event_date as search_date,
        event_name,
        {{ dbt.safe_cast(json_text('properties', 'results_count'), dbt.type_int()) }}
            as results_count,
        {{ dbt.safe_cast(json_text('properties', 'position'), dbt.type_int()) }} as position
    from events
    where event_type = 'track'
        and event_name in ('Products Searched', 'Search Result Clicked')

),

clicks as (

    -- Positions are 1-based; clicks without a usable position are left out.
    select search_date, position, count(*) as clicks
    from search_events
    where event_name = 'Search Result Clicked' and position >= 1
    group by search_date, position

),

daily_clicks as (

    select search_date, cast(sum(clicks) as {{ dbt.type_bigint() }}) as day_clicks
    from clicks
    group by search_date

),

positions as (

    -- Every position clicked on any day, so a day also shows positions that were
    -- listed but not clicked (0 clicks).
    select distinct position from clicks

),

searches as (

    select search_date, results_count, count(*) as searches
    from search_events
    where event_name = 'Products Searched' and results_count >= 1
    group by search_date, results_count

),

reach as (

    -- A search with n results lists positions 1..n.
    select
        searches.search_date,
        positions.position,
        cast(sum(searches.searches) as {{ dbt.type_bigint() }}) as searches_reaching_position
    from searches
    inner join positions on positions.position <= searches.results_count
    group by searches.search_date, positions.position

),

grid as (

    select search_date, position from clicks
    union
    select search_date, position from reach

),

final as (

    select
        {{ surrogate_key(['grid.search_date', 'grid.position']) }} as search_position_day_id,
        grid.search_date,
        grid.position,
        coalesce(clicks.clicks, 0) as clicks,
        cast(coalesce(clicks.clicks, 0) as {{ dbt.type_float() }})
            / nullif(daily_clicks.day_clicks, 0) as share_of_clicks,
        coalesce(reach.searches_reaching_position, 0) as searches_reaching_position,
        cast(coalesce(clicks.clicks, 0) as {{ dbt.type_float() }})
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
