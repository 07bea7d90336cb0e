{#- The body of a recursive CTE named `spine` holding every calendar day from
    `bounds.first_column` to `bounds.last_column` (none when `bounds` has no first day),
    in a column `day_column`. A recursive CTE is portable across DuckDB, PostgreSQL and
    the other warehouses; the model must start with `with recursive`. -#}
{% macro day_spine(spine, day_column, bounds='bounds', first_column='first_date', last_column='last_date') -%}
    select {{ first_column }} as {{ day_column }}
    from {{ bounds }}
    where {{ first_column }} is not null

    union all

    select cast({{ dbt.dateadd('day', 1, spine ~ '.' ~ day_column) }} as date)
    from {{ spine }}
    inner join {{ bounds }} on {{ spine }}.{{ day_column }} < {{ bounds }}.{{ last_column }}
{%- endmacro %}
