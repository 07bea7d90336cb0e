{#- docs/metrics.md "Retention (cohorts)": report N ∈ {1, 7, 14, 30, 60, 90}. -#}
{%- set day_numbers = [1, 7, 14, 30, 60, 90] -%}

with

retention as (

    select * from {{ ref('mart_cohort_retention') }}

),

daily as (

    select * from retention
    where period_grain = 'day'

),

day_numbers as (

    {% for day_number in day_numbers %}
    select cast({{ day_number }} as {{ dbt.type_int() }}) as day_number
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

slices as (

    select distinct
        cohort_type,
        breakdown,
        breakdown_value
    from daily

),

pooled as (

    -- Only cohorts whose day N has fully elapsed; younger cohorts are left out rather
    -- than counted as not retained.
    select
        cohort_type,
        breakdown,
        breakdown_value,
        period_number as day_number,
        count(*) as cohorts,
        min(cohort_start) as first_cohort_start,
        max(cohort_start) as last_cohort_start,
        cast(sum(cohort_size) as {{ dbt.type_bigint() }}) as cohort_users,
        cast(sum(retained_users) as {{ dbt.type_bigint() }}) as retained_users,
        cast(sum(unbounded_retained_users) as {{ dbt.type_bigint() }}) as unbounded_retained_users
    from daily
    where is_complete
        and period_number in ({{ day_numbers | join(', ') }})
    group by cohort_type, breakdown, breakdown_value, period_number

),

final as (

    select
        {{ surrogate_key([
            'slices.cohort_type', 'slices.breakdown', 'slices.breakdown_value',
            'day_numbers.day_number']) }} as retention_curve_id,
        slices.cohort_type,
        slices.breakdown,
        slices.breakdown_value,
        day_numbers.day_number,
        coalesce(pooled.cohorts, 0) as cohorts,
        pooled.first_cohort_start,
        pooled.last_cohort_start,
        coalesce(pooled.cohort_users, 0) as cohort_users,
        coalesce(pooled.retained_users, 0) as retained_users,
        cast(pooled.retained_users as {{ type_double() }}) / pooled.cohort_users
            as retention_rate,
        coalesce(pooled.unbounded_retained_users, 0) as unbounded_retained_users,
        cast(pooled.unbounded_retained_users as {{ type_double() }}) / pooled.cohort_users
            as unbounded_retention_rate
    from slices
    cross join day_numbers
    left join pooled
        on pooled.cohort_type = slices.cohort_type
        and pooled.breakdown = slices.breakdown
        and pooled.breakdown_value = slices.breakdown_value
        and pooled.day_number = day_numbers.day_number

)

select * from final
