{#- Deterministic md5 key over the given expressions (NULL-safe, '|'-separated), so rebuilds
    give the same ids on every engine. -#}
{% macro surrogate_key(expressions) -%}
    md5(
        {%- for expression in expressions %}
        coalesce(cast({{ expression }} as {{ dbt.type_string() }}), '<null>')
        {%- if not loop.last %} || '|' || {% endif -%}
        {%- endfor %}
    )
{%- endmacro %}
