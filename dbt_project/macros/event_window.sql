{#- The slice of landed events an incremental run reads.

    With Dagster's partition vars (min_date/max_date) the window is that partition range;
    without them it is everything since the newest day already built. Either way the
    start moves back by `late_event_lookback_days` so late-arriving events are picked up.
    Rows already built are never inserted twice: models anti-join on their unique key. -#}
{% macro event_window_filter(date_column) -%}
    {%- set lookback = var('late_event_lookback_days') | int -%}
    {%- if var('min_date') -%}
        {{ date_column }} >= {{ dbt.dateadd('day', -lookback, "cast('" ~ var('min_date') ~ "' as date)") }}
    {%- else -%}
        {{ date_column }} >= (
            select {{ dbt.dateadd('day', -lookback, 'max(event_date)') }} from {{ this }}
        )
    {%- endif %}
    {%- if var('max_date') %}
        and {{ date_column }} <= cast('{{ var("max_date") }}' as date)
    {%- endif -%}
{%- endmacro %}
