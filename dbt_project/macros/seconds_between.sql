{#- Elapsed seconds (fractional) from one timestamp to another. dbt.datediff counts
    second *boundaries* crossed, which misjudges sub-second gaps at the session timeout.
    Cast because PostgreSQL's extract returns numeric where DuckDB's returns a double. -#}
{% macro seconds_between(start, end) -%}
    cast(extract(epoch from ({{ end }} - {{ start }})) as {{ type_double() }})
{%- endmacro %}
