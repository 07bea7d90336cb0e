{#- Grains and breakdowns are vars so a unit test can look at one grain at a time; a
    breakdown is any dim_users column. -#}
{%- set grains = var('retention_period_grains', ['day', 'week', 'month']) -%}
{%- set breakdowns = var('retention_breakdowns', ['first_touch_channel', 'first_device_type']) -%}

with recursive

events as (

    select * from {{ ref('fct_events') }}

),

users as (

    select * from {{ ref('dim_users') }}

),

bounds as (

    -- docs/metrics.md: the last day with data is treated as complete.
    select min(event_date) as first_date, max(event_date) as as_of_date
    from events

),

day_spine as (

    -- Every day from the first to the last day with data.
    {{ day_spine('day_spine', 'date_day', last_column='as_of_date') }}

),

calendar as (

    {% for grain in grains %}
    select
        cast('{{ grain }}' as {{ dbt.type_string() }}) as period_grain,
        date_day,
        {{ cohort_period_start(grain, 'date_day') }} as period_start,
        {{ cohort_period_end(grain, cohort_period_start(grain, 'date_day')) }} as period_end
    from day_spine
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

periods as (

    -- period_index numbers a grain's periods consecutively (the spine has no gaps), so
    -- the number of periods between two of them — days, weeks (across a new year too)
    -- or calendar months — is the difference of their indexes.
    select
        calendar.period_grain,
        calendar.period_start,
        calendar.period_end,
        calendar.period_end <= bounds.as_of_date as is_complete,
        row_number() over (
            partition by calendar.period_grain order by calendar.period_start
        ) as period_index
    from calendar
    cross join bounds
    group by calendar.period_grain, calendar.period_start, calendar.period_end, bounds.as_of_date

),

day_periods as (

    select calendar.period_grain, calendar.date_day, periods.period_index
    from calendar
    inner join periods
        on periods.period_grain = calendar.period_grain
        and periods.period_start = calendar.period_start

),

user_days as (

    select
        stitched_user_id,
        event_date,
        max(case when is_active_event then 1 else 0 end) as is_active,
        max(case when event_name = 'Signed Up' then 1 else 0 end) as signed_up,
        sum(revenue_usd) as revenue_usd
    from events
    group by stitched_user_id, event_date

),

cohort_days as (

    -- Signup cohorts come from the first `Signed Up` event only: dim_users.signed_up_at
    -- falls back to the accounts snapshot, which has no event behind it.
    select
        cast('first_activity' as {{ dbt.type_string() }}) as cohort_type,
        stitched_user_id,
        min(event_date) as cohort_date
    from user_days
    where is_active = 1
    group by stitched_user_id

    union all

    select
        cast('signup' as {{ dbt.type_string() }}) as cohort_type,
        stitched_user_id,
        min(event_date) as cohort_date
    from user_days
    where signed_up = 1
    group by stitched_user_id

),

cohort_members as (

    select
        cohort_days.cohort_type,
        day_periods.period_grain,
        cohort_days.stitched_user_id,
        day_periods.period_index as cohort_index
    from cohort_days
    inner join day_periods on day_periods.date_day = cohort_days.cohort_date

),

member_breakdowns as (

    -- Each member once per breakdown, with their value of it (NULL reads '(none)').
    select
        cohort_type,
        period_grain,
        stitched_user_id,
        cohort_index,
        cast('all' as {{ dbt.type_string() }}) as breakdown,
        cast('all' as {{ dbt.type_string() }}) as breakdown_value
    from cohort_members
    {% for breakdown in breakdowns %}

    union all

    select
        cohort_members.cohort_type,
        cohort_members.period_grain,
        cohort_members.stitched_user_id,
        cohort_members.cohort_index,
        cast('{{ breakdown }}' as {{ dbt.type_string() }}) as breakdown,
        coalesce(cast(users.{{ breakdown }} as {{ dbt.type_string() }}), '(none)')
            as breakdown_value
    from cohort_members
    left join users on users.stitched_user_id = cohort_members.stitched_user_id
    {%- endfor %}

),

user_periods as (

    select
        day_periods.period_grain,
        user_days.stitched_user_id,
        day_periods.period_index,
        max(user_days.is_active) as is_active,
        sum(user_days.revenue_usd) as revenue_usd
    from user_days
    inner join day_periods on day_periods.date_day = user_days.event_date
    group by day_periods.period_grain, user_days.stitched_user_id, day_periods.period_index

),

member_periods as (

    -- A member's periods from their cohort period on; earlier ones (a signup cohort's
    -- visits before signing up) count nowhere.
    select
        cohort_members.cohort_type,
        cohort_members.period_grain,
        cohort_members.stitched_user_id,
        user_periods.period_index - cohort_members.cohort_index as period_number,
        user_periods.is_active,
        user_periods.revenue_usd
    from cohort_members
    inner join user_periods
        on user_periods.period_grain = cohort_members.period_grain
        and user_periods.stitched_user_id = cohort_members.stitched_user_id
        and user_periods.period_index >= cohort_members.cohort_index

),

member_last_returns as (

    -- The last period (N >= 1) a member was active in: they count as unbounded
    -- retained at every N up to it.
    select
        cohort_type,
        period_grain,
        stitched_user_id,
        max(period_number) as last_return_number
    from member_periods
    where is_active = 1 and period_number >= 1
    group by cohort_type, period_grain, stitched_user_id

),

cohort_sizes as (

    select
        cohort_type,
        period_grain,
        breakdown,
        breakdown_value,
        cohort_index,
        count(*) as cohort_size
    from member_breakdowns
    group by cohort_type, period_grain, breakdown, breakdown_value, cohort_index

),

stacked as (

    -- What each cohort period holds, from three sources stacked and then summed rather
    -- than joined (PostgreSQL cannot size these CTEs and would nest-loop a join):
    -- the dense grid — every period from the cohort's own to the one holding the last
    -- day with data, quiet ones included — the members' activity and revenue, and the
    -- period of each member's last return.
    select
        cohort_sizes.cohort_type,
        cohort_sizes.period_grain,
        cohort_sizes.breakdown,
        cohort_sizes.breakdown_value,
        cohort_sizes.cohort_index,
        periods.period_index - cohort_sizes.cohort_index as period_number,
        cohort_sizes.cohort_size,
        0 as is_active,
        cast(null as {{ type_money() }}) as revenue_usd,
        0 as is_last_return
    from cohort_sizes
    inner join periods
        on periods.period_grain = cohort_sizes.period_grain
        and periods.period_index >= cohort_sizes.cohort_index

    union all

    select
        member_breakdowns.cohort_type,
        member_breakdowns.period_grain,
        member_breakdowns.breakdown,
        member_breakdowns.breakdown_value,
        member_breakdowns.cohort_index,
        member_periods.period_number,
        null as cohort_size,
        member_periods.is_active,
        member_periods.revenue_usd,
        0 as is_last_return
    from member_breakdowns
    inner join member_periods
        on member_periods.cohort_type = member_breakdowns.cohort_type
        and member_periods.period_grain = member_breakdowns.period_grain
        and member_periods.stitched_user_id = member_breakdowns.stitched_user_id

    union all

    select
        member_breakdowns.cohort_type,
        member_breakdowns.period_grain,
        member_breakdowns.breakdown,
        member_breakdowns.breakdown_value,
        member_breakdowns.cohort_index,
        member_last_returns.last_return_number as period_number,
        null as cohort_size,
        0 as is_active,
        null as revenue_usd,
        1 as is_last_return
    from member_breakdowns
    inner join member_last_returns
        on member_last_returns.cohort_type = member_breakdowns.cohort_type
        and member_last_returns.period_grain = member_breakdowns.period_grain
        and member_last_returns.stitched_user_id = member_breakdowns.stitched_user_id

),

period_totals as (

    select
        cohort_type,
        period_grain,
        breakdown,
        breakdown_value,
        cohort_index,
        period_number,
        max(cohort_size) as cohort_size,
        cast(sum(is_active) as {{ dbt.type_bigint() }}) as active_users,
        coalesce(sum(revenue_usd), 0) as period_revenue_usd,
        cast(sum(is_last_return) as {{ dbt.type_bigint() }}) as last_returning_users
    from stacked
    group by cohort_type, period_grain, breakdown, breakdown_value, cohort_index, period_number

),

accumulated as (

    select
        *,
        cast(sum(last_returning_users) over (
            partition by cohort_type, period_grain, breakdown, breakdown_value, cohort_index
            order by period_number desc
            rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as returning_now_or_later,
        sum(period_revenue_usd) over (
            partition by cohort_type, period_grain, breakdown, breakdown_value, cohort_index
            order by period_number
            rows between unbounded preceding and current row
        ) as revenue_to_date_usd
    from period_totals

),

measured as (

    -- Period 0 is the cohort itself (100 %) even while it is still running; any later
    -- period that has not fully elapsed is NULL, never 0.
    select
        accumulated.cohort_type,
        accumulated.period_grain,
        accumulated.breakdown,
        accumulated.breakdown_value,
        cohort_periods.period_start as cohort_start,
        accumulated.period_number,
        periods.period_start,
        periods.period_end,
        periods.is_complete,
        accumulated.cohort_size,
        case
            when accumulated.period_number = 0 then accumulated.cohort_size
            when periods.is_complete then accumulated.active_users
        end as retained_users,
        case
            when accumulated.period_number = 0 then accumulated.cohort_size
            when periods.is_complete then accumulated.returning_now_or_later
        end as unbounded_retained_users,
        case when periods.is_complete then accumulated.period_revenue_usd end as revenue_usd,
        case when periods.is_complete then accumulated.revenue_to_date_usd end
            as cumulative_revenue_usd
    from accumulated
    inner join periods as cohort_periods
        on cohort_periods.period_grain = accumulated.period_grain
        and cohort_periods.period_index = accumulated.cohort_index
    inner join periods
        on periods.period_grain = accumulated.period_grain
        and periods.period_index = accumulated.cohort_index + accumulated.period_number

),

final as (

    select
        {{ surrogate_key([
            'cohort_type', 'period_grain', 'breakdown', 'breakdown_value',
            'cohort_start', 'period_number']) }} as cohort_retention_id,
        cohort_type,
        period_grain,
        breakdown,
        breakdown_value,
        cohort_start,
        period_number,
        period_start,
        period_end,
        is_complete,
        cohort_size,
        retained_users,
        cast(retained_users as {{ type_double() }}) / cohort_size as retention_rate,
        unbounded_retained_users,
        cast(unbounded_retained_users as {{ type_double() }}) / cohort_size
            as unbounded_retention_rate,
        revenue_usd,
        cumulative_revenue_usd,
        -- LTV is a ratio, not money: a double, like every rate.
        cast(cumulative_revenue_usd as {{ type_double() }}) / cohort_size as ltv_per_user
    from measured

)

select * from final
