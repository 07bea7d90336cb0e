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

{%- set breakdowns = {
    'all': "cast('all' as " ~ dbt.type_string() ~ ")",
    'first_touch_source': "coalesce(first_touch_source, '(none)')",
    'device_type': "coalesce(entry_device_type, '(none)')",
} %}

breakdown_rows as (

    -- Each counted person-day once overall and once per breakdown. Sources are the
    -- person's first touch; devices are those of the counted attempt's step-1 event
    -- (one device per person-day, so the values add up to all).
    {% for breakdown, value in breakdowns.items() %}
    select
        funnel_name,
        entry_date,
        cast('{{ breakdown }}' as {{ dbt.type_string() }}) as breakdown,
        {{ value }} as breakdown_value,
        step_number,
        seconds_from_previous
    from progress
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

step_totals as (

    select
        funnel_name,
        entry_date,
        breakdown,
        breakdown_value,
        step_number,
        count(*) as users,
        avg(seconds_from_previous) as avg_seconds_from_previous,
        percentile_cont(0.5) within group (order by seconds_from_previous)
            as median_seconds_from_previous
    from breakdown_rows
    group by funnel_name, entry_date, breakdown, breakdown_value, step_number

),

entry_groups as (

    select
        funnel_name,
        entry_date,
        breakdown,
        breakdown_value,
        users as entered_users
    from step_totals
    where step_number = 1

),

dense_steps as (

    -- Every step of the funnel for each group that has entries: a step nobody reached
    -- is a row with 0 users (and no timing), not a missing row.
    select
        entry_groups.funnel_name,
        entry_groups.entry_date,
        entry_groups.breakdown,
        entry_groups.breakdown_value,
        funnel_steps.step_number,
        funnel_steps.step_name,
        funnel_steps.conversion_window_seconds,
        entry_groups.entered_users,
        coalesce(step_totals.users, 0) as users,
        step_totals.avg_seconds_from_previous,
        step_totals.median_seconds_from_previous
    from entry_groups
    inner join funnel_steps on funnel_steps.funnel_name = entry_groups.funnel_name
    left join step_totals
        on step_totals.funnel_name = entry_groups.funnel_name
        and step_totals.entry_date = entry_groups.entry_date
        and step_totals.breakdown = entry_groups.breakdown
        and step_totals.breakdown_value = entry_groups.breakdown_value
        and step_totals.step_number = funnel_steps.step_number

),

with_previous as (

    select
        *,
        lag(users) over (
            partition by funnel_name, entry_date, breakdown, breakdown_value
            order by step_number
        ) as previous_users
    from dense_steps

),

final as (

    select
        with_previous.funnel_name,
        with_previous.entry_date,
        with_previous.breakdown,
        with_previous.breakdown_value,
        with_previous.step_number,
        with_previous.step_name,
        with_previous.users,
        {{ proportion('with_previous.users', 'with_previous.entered_users') }}
            as conversion_from_start,
        case
            when with_previous.step_number = 1 then cast(1 as {{ type_double() }})
            else {{ proportion('with_previous.users', 'with_previous.previous_users') }}
        end as conversion_from_previous,
        coalesce(with_previous.previous_users - with_previous.users, 0) as drop_off_users,
        case
            when with_previous.step_number = 1 then cast(0 as {{ type_double() }})
            else {{ proportion(
                'with_previous.previous_users - with_previous.users',
                'with_previous.previous_users') }}
        end as drop_off_rate,
        with_previous.avg_seconds_from_previous,
        with_previous.median_seconds_from_previous,
        -- The day's last entrant's window must have ended by the end of the data.
        coalesce(
            {{ dbt.dateadd(
                'second',
                'with_previous.conversion_window_seconds',
                dbt.dateadd('day', 1, 'cast(with_previous.entry_date as ' ~ dbt.type_timestamp() ~ ')')
            ) | trim }} <= data_end.as_of_end,
            false
        ) as is_window_complete
    from with_previous
    cross join data_end

)

select * from final
