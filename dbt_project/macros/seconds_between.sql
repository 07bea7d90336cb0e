{#- Elapsed seconds (fractional) from one timestamp to another. dbt.datediff counts
    second *boundaries* crossed, which misjudges sub-second gaps at the session timeout. -#}
{% macro seconds_between(start, end) -%}
    extract(epoch from ({{ end }} - {{ start }}))
{%- endmacro %}
