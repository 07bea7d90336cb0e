{#- Every catalog metric (vars.business_metrics) per grain (day, ISO week, calendar
    month), period and slice: the period's numerator and denominator rolled up from the
    days as the catalog says (sum, mean, first or last day), and the value recomputed
    from them, so a weekly rate is never a mean of daily rates. -#}
{%- set metrics = business_metric_catalog() -%}
{%- set parts = ['numerator', 'denominator'] -%}
with

inputs as (

    select * from {{ ref('int_business_inputs_daily') }}

),

bounds as (

    select
        min(metric_date) as first_date,
        max(metric_date) as last_date
    from inputs
    where dimension = 'all'

),

daily_values as (

    -- One row per metric, day and slice (the catalog's numerator and denominator).
    {%- for metric in metrics %}
    select
        cast({{ funnel_text(metric.name) }} as {{ dbt.type_string() }}) as metric,
        metric_date,
        dimension,
        dimension_value,
        {%- for part in parts %}
        cast({{ metric[part].column if metric.get(part) else 'null' }} as {{ type_double() }})
            as {{ part }}{{ ',' if not loop.last }}
        {%- endfor %}
    from inputs
    where dimension in (
        'all'
        {%- for dimension in metric.get('dimensions') or [] %},
        {{ funnel_text(dimension) }}
        {%- endfor %}
    )
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

periods as (

    {%- for grain in ['day', 'week', 'month'] %}
    select
        daily_values.*,
        cast('{{ grain }}' as {{ dbt.type_string() }}) as grain,
        {{ cohort_period_start(grain, 'daily_values.metric_date') }} as period_start,
        {{ cohort_period_end(grain, cohort_period_start(grain, 'daily_values.metric_date')) }}
            as period_end
    from daily_values
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

ranked as (

    select
        periods.*,
        row_number() over (
            partition by
                periods.metric,
                periods.grain,
                periods.dimension,
                periods.dimension_value,
                periods.period_start
            order by periods.metric_date
        ) as position_from_first,
        row_number() over (
            partition by
                periods.metric,
                periods.grain,
                periods.dimension,
                periods.dimension_value,
                periods.period_start
            order by periods.metric_date desc
        ) as position_from_last
    from periods

),

rolled_up as (

    select
        metric,
        grain,
        period_start,
        period_end,
        dimension,
        dimension_value,
        {%- for part in parts %}
        sum({{ part }}) as {{ part }}_sum,
        avg({{ part }}) as {{ part }}_mean,
        max(case when position_from_first = 1 then {{ part }} end) as {{ part }}_first,
        max(case when position_from_last = 1 then {{ part }} end) as {{ part }}_last,
        {%- endfor %}
        count(*) as days_with_data
    from ranked
    group by metric, grain, period_start, period_end, dimension, dimension_value

),

chosen as (

    -- Each metric's numerator and denominator with the catalog's roll-up.
    select
        rolled_up.*,
        {%- for part in parts %}
        case rolled_up.metric
            {%- for metric in metrics if metric.get(part) %}
            when {{ funnel_text(metric.name) }} then rolled_up.{{ part }}_{{ metric[part].rollup }}
            {%- endfor %}
        end as {{ part }}{{ ',' if not loop.last }}
        {%- endfor %}
    from rolled_up

),

final as (

    select
        chosen.metric,
        chosen.grain,
        chosen.period_start,
        chosen.period_end,
        chosen.dimension,
        chosen.dimension_value,
        chosen.numerator,
        chosen.denominator,
        case
            {%- for metric in metrics %}
            when chosen.metric = {{ funnel_text(metric.name) }} then
                {%- if metric.get('denominator') %}
                case when chosen.denominator <> 0 then chosen.numerator / chosen.denominator end
                {%- else %}
                chosen.numerator
                {%- endif %}
            {%- endfor %}
        end as value,
        chosen.days_with_data,
        -- Complete: the whole period lies within the data (not a week or month cut off
        -- by the first or the last day of data).
        chosen.period_start >= bounds.first_date
            and chosen.period_end <= bounds.last_date as is_complete
    from chosen
    cross join bounds

)

select * from final
