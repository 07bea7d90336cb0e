{#- The business metric catalog (vars.business_metrics in dbt_project.yml), validated:
    every model reads names, labels, units and roll-ups from here, never repeats them. -#}

{% macro business_metric_catalog() -%}
    {%- set allowed = {
        'category': ['audience', 'engagement', 'content', 'revenue', 'acquisition'],
        'unit': ['count', 'usd', 'ratio', 'seconds'],
        'direction': ['up', 'down'],
    } -%}
    {%- set rollups = ['sum', 'mean', 'first', 'last'] -%}
    {%- set metrics = var('business_metrics', []) -%}
    {%- if not metrics -%}
        {{ exceptions.raise_compiler_error("vars.business_metrics in dbt_project.yml defines no metric") }}
    {%- endif -%}
    {%- set seen = [] -%}
    {%- for metric in metrics -%}
        {%- for field in ['name', 'label', 'description', 'category', 'unit', 'format', 'direction', 'numerator'] -%}
            {%- if not metric.get(field) -%}
                {{ exceptions.raise_compiler_error("business metric " ~ metric.get('name') ~ " needs `" ~ field ~ "`") }}
            {%- endif -%}
        {%- endfor -%}
        {%- if metric.name in seen -%}
            {{ exceptions.raise_compiler_error("business metric " ~ metric.name ~ " is defined twice") }}
        {%- endif -%}
        {%- do seen.append(metric.name) -%}
        {%- for field, values in allowed.items() -%}
            {%- if metric[field] not in values -%}
                {{ exceptions.raise_compiler_error(
                    "business metric " ~ metric.name ~ ": " ~ field ~ " must be one of "
                    ~ (values | join('|')) ~ ", got '" ~ metric[field] ~ "'") }}
            {%- endif -%}
        {%- endfor -%}
        {%- for part in ['numerator', 'denominator'] if metric.get(part) -%}
            {%- if metric[part].get('rollup') not in rollups or not metric[part].get('column') -%}
                {{ exceptions.raise_compiler_error(
                    "business metric " ~ metric.name ~ ": " ~ part ~ " needs a `column` and a `rollup` in "
                    ~ (rollups | join('|'))) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(metrics) }}
{%- endmacro %}

{#- One row per catalog metric (the columns of dim_business_metrics), as a union of
    literal selects: the catalog lives in dbt_project.yml, not in a table. -#}
{% macro business_metric_catalog_rows() -%}
    {%- for metric in business_metric_catalog() %}
    {%- set fields = {
        'metric': metric.name,
        'label': metric.label,
        'description': metric.description,
        'category': metric.category,
        'unit': metric.unit,
        'format': metric.format,
        'direction': metric.direction,
        'numerator': metric.numerator.column ~ ': ' ~ metric.numerator.rollup,
        'denominator': metric.denominator.column ~ ': ' ~ metric.denominator.rollup
            if metric.get('denominator') else none,
        'dimensions': (metric.get('dimensions') or []) | join(','),
    } %}
    select
        {%- for column, value in fields.items() %}
        cast({{ funnel_text(value) if value is not none else 'null' }} as {{ dbt.type_string() }})
            as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
        {%- if not loop.last %}
    union all
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- (value - comparison) / comparison; NULL when the comparison is NULL or 0. -#}
{% macro business_growth(value, comparison) -%}
    case when {{ comparison }} <> 0
        then ({{ value }} - {{ comparison }}) / {{ comparison }}
    end
{%- endmacro %}
