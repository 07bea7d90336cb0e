{#- The slice of landed events an incremental run reads.

    Dagster passes `event_days` (macros/build_args.sql), the event days whose landed files changed since the
    database's last build (ringside/core/build_state.py): exactly those days are read. By hand,
    `min_date`/`max_date` name a range, or, without them, everything since the newest day
    already built; either way the start moves back by `late_event_lookback_days` so late
    events are picked up. Rows already built are never inserted twice: staging anti-joins
    on message_id. -#}
{% macro event_window_filter(date_column) -%}
    {%- set days = build_arg('event_days') -%}
    {%- set lookback = var('late_event_lookback_days') | int -%}
    {%- if days is not none -%}
        {%- if days | length == 0 -%}
            1 = 0
        {%- else -%}
            {{ date_column }} in (
                {%- for day in days %}cast('{{ day }}' as date){% if not loop.last %}, {% endif %}{% endfor -%}
            )
        {%- endif -%}
    {%- elif var('min_date') -%}
        {{ date_column }} >= {{ dbt.dateadd('day', -lookback, "cast('" ~ var('min_date') ~ "' as date)") }}
        {%- if var('max_date') %}
        and {{ date_column }} <= cast('{{ var("max_date") }}' as date)
        {%- endif -%}
    {%- else -%}
        {{ date_column }} >= (
            select {{ dbt.dateadd('day', -lookback, 'max(event_date)') }} from {{ this }}
        )
    {%- endif -%}
{%- endmacro %}
