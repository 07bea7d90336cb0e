{#- The business metrics of the catalog (vars.business_metrics) per grain, period and
    slice, with period comparisons, growth and KPI targets. Comparison periods:

    grain  previous period  same period last week  last month        last year
    day    day - 1          day - 7                day - 1 month     day - 1 year
    week   week - 1         week - 1               week - 4 weeks    week - 52 weeks
    month  month - 1        (none: NULL)           month - 1         month - 12

    Week comparisons shift by whole weeks so they land on the same ISO weekday. A
    comparison is NULL when its period is not in the data. -#}
{%- set comparisons = {
    'previous_period': {'day': ('day', -1), 'week': ('day', -7), 'month': ('month', -1)},
    'same_period_last_week': {'day': ('day', -7), 'week': ('day', -7)},
    'same_period_last_month': {'day': ('month', -1), 'week': ('day', -28), 'month': ('month', -1)},
    'same_period_last_year': {'day': ('year', -1), 'week': ('day', -364), 'month': ('year', -1)},
} -%}
{%- set growth_names = {
    'previous_period': 'growth_vs_previous_period',
    'same_period_last_week': 'growth_vs_last_week',
    'same_period_last_month': 'growth_vs_last_month',
    'same_period_last_year': 'growth_vs_last_year',
} -%}
with

periods as (

    select * from {{ ref('int_business_metric_periods') }}

),

kpi_targets as (

    select * from {{ ref('stg_app__kpi_targets') }}

),

catalog as (

    select * from {{ ref('dim_business_metrics') }}

),

kpi_metrics as (

    select distinct metric from kpi_targets

),

compared as (

    select
        periods.*,
        {%- for name, shifts in comparisons.items() %}
        {{ name }}.value as {{ name }}_value{{ ',' if not loop.last }}
        {%- endfor %}
    from periods
    {%- for name, shifts in comparisons.items() %}
    left join periods as {{ name }}
        on {{ name }}.metric = periods.metric
        and {{ name }}.grain = periods.grain
        and {{ name }}.dimension = periods.dimension
        and {{ name }}.dimension_value = periods.dimension_value
        and {{ name }}.period_start = case periods.grain
            {%- for grain, (unit, amount) in shifts.items() %}
            when '{{ grain }}'
                then cast({{ dbt.dateadd(unit, amount, 'periods.period_start') }} as date)
            {%- endfor %}
        end
    {%- endfor %}

),

final as (

    select
        compared.metric,
        catalog.label,
        catalog.category,
        catalog.unit,
        catalog.direction,
        compared.grain,
        compared.period_start,
        compared.period_end,
        compared.dimension,
        compared.dimension_value,
        compared.value,
        {%- for name in comparisons %}
        compared.{{ name }}_value,
        {%- endfor %}
        {%- for name, growth in growth_names.items() %}
        {{ business_growth('compared.value', 'compared.' ~ name ~ '_value') }} as {{ growth }},
        {%- endfor %}
        kpi_metrics.metric is not null as is_kpi,
        -- Targets are set for the platform as a whole, so slices carry none.
        kpi_targets.target,
        kpi_targets.tolerance,
        kpi_targets.alert_threshold,
        case when kpi_targets.target <> 0
            then compared.value / kpi_targets.target - 1
        end as vs_target,
        compared.is_complete
    from compared
    inner join catalog on catalog.metric = compared.metric
    left join kpi_metrics on kpi_metrics.metric = compared.metric
    left join kpi_targets
        on kpi_targets.metric = compared.metric
        and kpi_targets.grain = compared.grain
        and compared.dimension = 'all'

)

select * from final
