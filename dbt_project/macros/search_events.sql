{#- The `Products Searched` / `Search Result Clicked` events of an events relation with
    their typed properties, shared by the search marts so the query normalization lives
    in one place: queries are compared lower-cased and trimmed; a missing or blank
    query is '(not set)', as GA labels absent dimension values. -#}
{% macro search_events(events) -%}
    select
        event_date as search_date,
        event_name,
        stitched_user_id,
        coalesce(
            nullif(lower(trim({{ json_text('properties', 'query') }})), ''), '(not set)'
        ) as query,
        {{ json_integer('properties', 'results_count') }} as results_count,
        {{ json_integer('properties', 'position') }} as position
    from {{ events }}
    where event_type = 'track'
        and event_name in ('Products Searched', 'Search Result Clicked')
{%- endmacro %}
