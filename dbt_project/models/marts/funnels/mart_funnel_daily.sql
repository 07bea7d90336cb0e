{#- Incremental (macros/incremental_cohorts.sql): an entry day's rows depend on that
    day's fct_funnel_progress rows and on the end of the data. So the entry days
    fct_funnel_progress rewrote (from the earliest changed event day minus the longest
    window) are rewritten, and so are the days still marked incomplete, whose
    is_window_complete the new end of the data may set. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["entry_date >= {{ funnel_daily_rewrite_from() }}"],
        on_schema_change='fail',
    )
}}

with

progress as (

    select * from {{ ref('fct_funnel_progress') }}
    {% if is_incremental() %}
    where entry_date >= {{ funnel_daily_rewrite_from() }}
    {% endif %}

),

funnel_steps as (

    select * from {{ ref('dim_funnel_steps') }}

),

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    -- The end of the data lies on or after the earliest changed day.
    where event_date >= {{ changed_from_date() }}
    {% endif %}

),

data_end as (

    -- Midnight after the last day with data: windows ending by then are complete.
    select
        cast({{ dbt.dateadd('day', 1, 'max(event_date)') }} as {{ dbt.type_timestamp() }})
            as as_of_end
    from events

),

breakdown_rows as (

    -- Each counted person-day once overall and once per breakdown
    -- (macros/funnel_counting.sql, shared with the API's engine).
    {{ funnel_breakdown_rows(
        'progress', ['first_touch_source', 'device_type'], columns=['funnel_name', 'entry_date']) }}

),

{{ funnel_step_report(
    'report', 'breakdown_rows', 'funnel_steps',
    group_by=['funnel_name', 'entry_date', 'breakdown', 'breakdown_value'],
    keys=['funnel_name'], step_columns=['step_name', 'conversion_window_seconds']) }},

final as (

    select
        report.funnel_name,
        report.entry_date,
        report.breakdown,
        report.breakdown_value,
        report.step_number,
        report.step_name,
        report.users,
        report.conversion_from_start,
        report.conversion_from_previous,
        report.drop_off_users,
        report.drop_off_rate,
        report.avg_seconds_from_previous,
        report.median_seconds_from_previous,
        -- The day's last entrant's window must have ended by the end of the data.
        coalesce(
            {{ dbt.dateadd(
                'second',
                'report.conversion_window_seconds',
                dbt.dateadd('day', 1, 'cast(report.entry_date as ' ~ dbt.type_timestamp() ~ ')')
            ) | trim }} <= data_end.as_of_end,
            false
        ) as is_window_complete
    from report
    cross join data_end

)

select * from final
