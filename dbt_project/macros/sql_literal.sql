{#- A value of a definition (a saved funnel's event name, a cohort's event) as a SQL
    literal. Macros shared with the API's query engine (ringside/insights/macros.py) take
    their values through a `literal` argument: dbt passes this macro, the engine passes
    a function that binds the value as a parameter named after `name`, so the rule's SQL
    is the same text and client input never becomes SQL. -#}
{% macro sql_literal(value, name=none) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ value | string | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}
