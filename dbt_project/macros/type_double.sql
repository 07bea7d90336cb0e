{#- An 8-byte floating-point type. dbt.type_float() renders `float`, which is 8 bytes
    on PostgreSQL but 4 bytes (REAL, ~7 significant digits) on DuckDB — too coarse for
    rates and test statistics. `double precision` is standard SQL that both accept. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'ringside')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}
