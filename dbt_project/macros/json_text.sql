{#- Text value of a top-level key of a JSON text column (NULL when absent).
    Engines spell JSON access differently, so this dispatches per adapter. -#}
{% macro json_text(column, key) -%}
    {{ return(adapter.dispatch('json_text', 'ringside')(column, key)) }}
{%- endmacro %}

{% macro default__json_text(column, key) -%}
    (cast({{ column }} as json) ->> '{{ key }}')
{%- endmacro %}

{% macro duckdb__json_text(column, key) -%}
    json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}
