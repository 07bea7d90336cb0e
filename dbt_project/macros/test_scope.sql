{#- Data tests judge what the run built: on the tables stamped `_built_at`
    (macros/incremental.sql), a test reads only the rows written since the last
    successful build, so its cost follows the new data like the build's. Keys are
    replaced whole by the incremental strategies, so a duplicate can only appear among
    written rows. The daily full check (build arg full_checks, macros/build_args.sql)
    and any run by hand with `--vars '{full_checks: true}'` test whole tables.
    The views of var `tests_on_full_checks_only` are tested by the full check alone:
    reading them is the whole computation they leave to their readers.
    Overrides dbt's get_where_subquery, keeping its `where` config. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- if relation.identifier in var('tests_on_built_rows') and not build_arg('full_checks', false) -%}
        {%- do conditions.append('_built_at > ' ~ changed_since()) -%}
    {%- endif -%}
    {%- if relation.identifier in var('tests_on_full_checks_only') and not build_arg('full_checks', false) -%}
        {%- do conditions.append('1 = 0') -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
