{#- Text value of a top-level key of a JSON text column (NULL when absent).
    Engines spell JSON access differently, so this dispatches per adapter. The key (or
    the DuckDB path holding it) goes through `literal` (macros/sql_literal.sql), so the
    API's engine binds it: any key, even one starting with `$` or holding quotes. -#}
{% macro json_text(column, key, literal=sql_literal) -%}
    {{ return(adapter.dispatch('json_text', 'ringside')(column, key, literal)) }}
{%- endmacro %}

{% macro default__json_text(column, key, literal) -%}
    (cast({{ column }} as json) ->> {{ literal(key, 'json_key') }})
{%- endmacro %}

{#- DuckDB reads a bare key starting with `$` or `/` as a path, and `a.b` as a nested
    key: the key goes in a quoted JSONPath member, which takes any text. -#}
{% macro duckdb__json_text(column, key, literal) -%}
    {%- set path = '$."' ~ (key | replace('\\', '\\\\') | replace('"', '\\"')) ~ '"' -%}
    json_extract_string({{ column }}, {{ literal(path, 'json_path') }})
{%- endmacro %}
