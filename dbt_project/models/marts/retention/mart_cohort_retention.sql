{#- Grains and breakdowns are vars so a unit test can look at one grain at a time; a
    breakdown is any dim_users column. -#}
{%- set grains = var('retention_period_grains', ['day', 'week', 'month']) -%}
{%- set breakdowns = var('retention_breakdowns', ['first_touch_channel', 'first_device_type']) -%}
{#- Incremental (macros/incremental_cohorts.sql, the model's docs): the cells of periods
    ending on or after the first rewritten day are rewritten; before it only unbounded
    retention can change, in the cohorts of changed users, from the period after their
    last activity before the change. That holds when a user's breakdown values are set
    by their events (the first session's); a breakdown read from the accounts snapshot
    can change on any day, and then the matrix is rebuilt whole every run. -#}
{%- set incremental = breakdowns | reject('in', cohort_event_breakdowns()) | list | length == 0 -%}
{{
    config(
        materialized='incremental' if incremental else 'table',
        incremental_strategy='replace_where',
        unique_key='cohort_retention_id',
        incremental_predicates=["period_end >= {{ cohort_rewrite_from() }}"],
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_identity_map') }}

with recursive

{% if is_incremental() %}

bounds as (

    -- rewrite_from: the first day whose periods are rewritten; read_from: the first day
    -- of the earliest period holding it (ISO week or month), from where events are read.
    select
        changed_from,
        rewrite_from,
        case when week_start < month_start then week_start else month_start end as read_from
    from (
        select
            changed_from,
            rewrite_from,
            {{ cohort_period_start('week', 'rewrite_from') }} as week_start,
            {{ cohort_period_start('month', 'rewrite_from') }} as month_start
        from (
            select
                {{ changed_from_date() }} as changed_from,
                {{ cohort_rewrite_from() }} as rewrite_from
        ) as days
    ) as starts

),

events as (

    select
        stitched_user_id,
        event_date,
        is_active_event,
        event_name,
        revenue_usd
    from {{ ref('fct_events') }}
    where event_date >= (select read_from from bounds)

),

data_end as (

    select max(event_date) as as_of_date from events

),

user_days as (

    select
        stitched_user_id,
        event_date,
        max(case when {{ retention_event_predicate('$any_activity') }} then 1 else 0 end)
            as is_active,
        sum(revenue_usd) as revenue_usd
    from events
    group by stitched_user_id, event_date

),

changed_users as (

    select stitched_user_id from {{ changed_users() }} as changed

),

recent_activity as (

    -- Changed users' last active day in the read window before the first changed day.
    select user_days.stitched_user_id, max(user_days.event_date) as last_active_before
    from user_days
    cross join bounds
    where user_days.is_active = 1
        and user_days.event_date < bounds.changed_from
        and user_days.stitched_user_id in (select stitched_user_id from changed_users)
    group by user_days.stitched_user_id

),

changed_states as (

    select
        changed_users.stitched_user_id,
        recent_activity.last_active_before as recent_active_before,
        cast(users.last_active_at as date) as last_active_date,
        bounds.changed_from
    from changed_users
    inner join {{ ref('dim_users') }} as users
        on users.stitched_user_id = changed_users.stitched_user_id
    left join recent_activity
        on recent_activity.stitched_user_id = changed_users.stitched_user_id
    cross join bounds

),

earlier_activity as (

    -- Changed users active again since the change but not in the window before it: their
    -- last active day before the window, read from their events.
    select stitched_user_id, max(event_date) as last_active_before
    from {{ ref('fct_events') }}
    where {{ retention_event_predicate('$any_activity') }}
        and event_date < (select read_from from bounds)
        and stitched_user_id in (
            select stitched_user_id from changed_states
            where recent_active_before is null and last_active_date >= changed_from
        )
    group by stitched_user_id

),

changed_last_active as (

    -- Each changed user's last active day before the first changed day (NULL: none):
    -- days up to it are the same as in the built matrix, so their unbounded retention
    -- can change only in the periods after it.
    select
        changed_states.stitched_user_id,
        coalesce(
            changed_states.recent_active_before,
            case
                when changed_states.last_active_date < changed_states.changed_from
                    then changed_states.last_active_date
            end,
            earlier_activity.last_active_before
        ) as last_active_before
    from changed_states
    left join earlier_activity
        on earlier_activity.stitched_user_id = changed_states.stitched_user_id

),

horizon as (

    -- Users seen since this day are all that the rewritten cells count.
    select case
        when min(changed_last_active.last_active_before) < max(bounds.read_from)
            then min(changed_last_active.last_active_before)
        else max(bounds.read_from)
    end as members_from
    from bounds
    left join changed_last_active on changed_last_active.last_active_before is not null

),

users as (

    select users.*
    from {{ ref('dim_users') }} as users
    where cast(users.last_seen_at as date) >= (select members_from from horizon)

),

signups as (

    -- The first `Signed Up` event of those users (signed_up_at falls back to the
    -- accounts snapshot, which has no event behind it).
    select stitched_user_id, min(event_date) as signup_date
    from {{ ref('fct_events') }}
    where {{ retention_event_predicate('Signed Up') }}
        and stitched_user_id in (
            select stitched_user_id from users where signed_up_at is not null
        )
    group by stitched_user_id

),

cohort_days as (

    select
        cast('first_activity' as {{ dbt.type_string() }}) as cohort_type,
        stitched_user_id,
        cast(first_active_at as date) as cohort_date,
        cast(last_active_at as date) as last_active_date
    from users
    where first_active_at is not null

    union all

    select
        cast('signup' as {{ dbt.type_string() }}) as cohort_type,
        users.stitched_user_id,
        signups.signup_date as cohort_date,
        cast(users.last_active_at as date) as last_active_date
    from users
    inner join signups on signups.stitched_user_id = users.stitched_user_id

),

cohort_members as (

    -- last_return_start: the period of the member's last activity, when after the
    -- cohort's (the last period N >= 1 they were active in).
    select
        cohort_type,
        period_grain,
        stitched_user_id,
        cohort_start,
        cohort_end,
        case when last_active_start > cohort_start then last_active_start end
            as last_return_start
    from (
        {% for grain in grains %}
        select
            cohort_type,
            cast('{{ grain }}' as {{ dbt.type_string() }}) as period_grain,
            stitched_user_id,
            {{ cohort_period_start(grain, 'cohort_date') }} as cohort_start,
            {{ cohort_period_end(grain, cohort_period_start(grain, 'cohort_date')) }}
                as cohort_end,
            {{ cohort_period_start(grain, 'last_active_date') }} as last_active_start
        from cohort_days
        {% if not loop.last %}union all{% endif %}
        {% endfor %}
    ) as by_grain

),

{{ cohort_member_breakdowns('cohort_members', 'users', breakdowns) }},

day_spine_bounds as (

    select bounds.read_from as first_date, data_end.as_of_date
    from bounds
    cross join data_end

),

day_spine as (

    {{ day_spine('day_spine', 'date_day', bounds='day_spine_bounds', last_column='as_of_date') }}

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

    -- The periods rewritten: those ending on or after rewrite_from.
    select distinct
        calendar.period_grain,
        calendar.period_start,
        calendar.period_end,
        calendar.period_end <= data_end.as_of_date as is_complete
    from calendar
    cross join bounds
    cross join data_end
    where calendar.period_end >= bounds.rewrite_from

),

built_cohorts as (

    -- Cohorts whose own period ended before rewrite_from keep their members and sizes.
    -- (The built matrix is read where each use filters it, never whole into a CTE.)
    select cohort_type, period_grain, breakdown, breakdown_value, cohort_start, cohort_size
    from {{ this }}
    where period_number = 0
        and period_end < (select rewrite_from from bounds)

),

cohort_sizes as (

    select * from built_cohorts

    union all

    select
        cohort_type,
        period_grain,
        breakdown,
        breakdown_value,
        cohort_start,
        count(*) as cohort_size
    from member_breakdowns
    where cohort_end >= (select rewrite_from from bounds)
    group by cohort_type, period_grain, breakdown, breakdown_value, cohort_start

),

user_periods as (

    select
        calendar.period_grain,
        user_days.stitched_user_id,
        calendar.period_start,
        max(user_days.is_active) as is_active,
        sum(user_days.revenue_usd) as revenue_usd
    from user_days
    inner join calendar on calendar.date_day = user_days.event_date
    cross join bounds
    where calendar.period_end >= bounds.rewrite_from
    group by calendar.period_grain, user_days.stitched_user_id, calendar.period_start

),

period_activity as (

    select
        member_breakdowns.cohort_type,
        member_breakdowns.period_grain,
        member_breakdowns.breakdown,
        member_breakdowns.breakdown_value,
        member_breakdowns.cohort_start,
        user_periods.period_start,
        cast(sum(user_periods.is_active) as {{ dbt.type_bigint() }}) as active_users,
        sum(user_periods.revenue_usd) as revenue_usd
    from member_breakdowns
    inner join user_periods
        on user_periods.period_grain = member_breakdowns.period_grain
        and user_periods.stitched_user_id = member_breakdowns.stitched_user_id
        and user_periods.period_start >= member_breakdowns.cohort_start
    group by
        member_breakdowns.cohort_type,
        member_breakdowns.period_grain,
        member_breakdowns.breakdown,
        member_breakdowns.breakdown_value,
        member_breakdowns.cohort_start,
        user_periods.period_start

),

revenue_before as (

    -- Revenue to date at the end of the last period kept (complete, so never NULL).
    select
        built.cohort_type,
        built.period_grain,
        built.breakdown,
        built.breakdown_value,
        built.cohort_start,
        built.cumulative_revenue_usd
    from {{ this }} as built
    inner join (
        {% for grain in grains %}
        select
            cast('{{ grain }}' as {{ dbt.type_string() }}) as period_grain,
            cast({{ dbt.dateadd('day', -1, cohort_period_start(grain, 'rewrite_from')) }} as date)
                as period_end
        from bounds
        {% if not loop.last %}union all{% endif %}
        {% endfor %}
    ) as kept
        on kept.period_grain = built.period_grain
        and kept.period_end = built.period_end

),

rewritten_cells as (

    select
        cohort_sizes.cohort_type,
        cohort_sizes.period_grain,
        cohort_sizes.breakdown,
        cohort_sizes.breakdown_value,
        cohort_sizes.cohort_start,
        periods.period_start,
        periods.period_end,
        periods.is_complete,
        cohort_sizes.cohort_size,
        coalesce(period_activity.active_users, 0) as active_users,
        coalesce(period_activity.revenue_usd, 0) as period_revenue_usd,
        coalesce(max(revenue_before.cumulative_revenue_usd) over (
            partition by
                cohort_sizes.cohort_type, cohort_sizes.period_grain, cohort_sizes.breakdown,
                cohort_sizes.breakdown_value, cohort_sizes.cohort_start
        ), 0) + sum(coalesce(period_activity.revenue_usd, 0)) over (
            partition by
                cohort_sizes.cohort_type, cohort_sizes.period_grain, cohort_sizes.breakdown,
                cohort_sizes.breakdown_value, cohort_sizes.cohort_start
            order by periods.period_start
            rows between unbounded preceding and current row
        ) as revenue_to_date_usd
    from cohort_sizes
    inner join periods
        on periods.period_grain = cohort_sizes.period_grain
        and periods.period_start >= cohort_sizes.cohort_start
    left join period_activity
        on period_activity.cohort_type = cohort_sizes.cohort_type
        and period_activity.period_grain = cohort_sizes.period_grain
        and period_activity.breakdown = cohort_sizes.breakdown
        and period_activity.breakdown_value = cohort_sizes.breakdown_value
        and period_activity.cohort_start = cohort_sizes.cohort_start
        and period_activity.period_start = periods.period_start
    left join revenue_before
        on revenue_before.cohort_type = cohort_sizes.cohort_type
        and revenue_before.period_grain = cohort_sizes.period_grain
        and revenue_before.breakdown = cohort_sizes.breakdown
        and revenue_before.breakdown_value = cohort_sizes.breakdown_value
        and revenue_before.cohort_start = cohort_sizes.cohort_start

),

reopened_cohorts as (

    -- Cohorts of changed users, from the period after the user's last activity before
    -- the change: a return since, or activity lost to a re-stitched device, moves their
    -- last return and so the unbounded retention of those periods.
    select
        cohort_members.cohort_type,
        cohort_members.period_grain,
        cohort_members.cohort_start,
        min(changed_last_active.last_active_before) as last_active_before
    from cohort_members
    inner join changed_last_active
        on changed_last_active.stitched_user_id = cohort_members.stitched_user_id
    where changed_last_active.last_active_before is not null
    group by cohort_members.cohort_type, cohort_members.period_grain, cohort_members.cohort_start

),

reopened_cells as (

    -- Only their unbounded retention changes (recounted below); the rest is as built.
    select
        built.cohort_type,
        built.period_grain,
        built.breakdown,
        built.breakdown_value,
        built.cohort_start,
        built.period_start,
        built.period_end,
        built.is_complete,
        built.cohort_size,
        built.retained_users as active_users,
        built.revenue_usd as period_revenue_usd,
        built.cumulative_revenue_usd as revenue_to_date_usd
    from {{ this }} as built
    inner join reopened_cohorts
        on reopened_cohorts.cohort_type = built.cohort_type
        and reopened_cohorts.period_grain = built.period_grain
        and reopened_cohorts.cohort_start = built.cohort_start
        and built.period_start > reopened_cohorts.last_active_before
    where built.period_end < (select rewrite_from from bounds)

),

cells as (

    select * from rewritten_cells
    union all
    select * from reopened_cells

),

stacked_returns as (

    -- Unbounded retention of a cell = members whose last return is in its period or a
    -- later one: a running count from the last period back, over the cells and the
    -- members' last returns stacked (a join would nest-loop on PostgreSQL).
    select
        cohort_type,
        period_grain,
        breakdown,
        breakdown_value,
        cohort_start,
        period_start,
        period_end,
        is_complete,
        cohort_size,
        active_users,
        period_revenue_usd,
        revenue_to_date_usd,
        1 as is_cell,
        0 as is_last_return
    from cells

    union all

    select
        cohort_type,
        period_grain,
        breakdown,
        breakdown_value,
        cohort_start,
        last_return_start as period_start,
        null as period_end,
        null as is_complete,
        null as cohort_size,
        null as active_users,
        null as period_revenue_usd,
        null as revenue_to_date_usd,
        0 as is_cell,
        1 as is_last_return
    from member_breakdowns
    where last_return_start is not null

),

returns_now_or_later as (

    select
        *,
        sum(is_last_return) over (
            partition by cohort_type, period_grain, breakdown, breakdown_value, cohort_start
            order by period_start desc
            range between unbounded preceding and current row
        ) as returning_now_or_later
    from stacked_returns

),

counted as (

    select
        cohort_type,
        period_grain,
        breakdown,
        breakdown_value,
        cohort_start,
        {{ cohort_period_number('period_grain', 'cohort_start', 'period_start') }}
            as period_number,
        period_start,
        period_end,
        is_complete,
        cohort_size,
        active_users,
        returning_now_or_later,
        period_revenue_usd,
        revenue_to_date_usd
    from returns_now_or_later
    where is_cell = 1

),

{% else %}

events as (

    select * from {{ ref('fct_events') }}

),

users as (

    select * from {{ ref('dim_users') }}

),

bounds as (

    -- docs/metrics.md: the last day with data is treated as complete.
    select
        min(event_date) as first_date,
        max(event_date) as as_of_date
    from events

),

user_days as (

    -- Returns are any activity (macros/retention.sql, shared with the API's engine).
    select
        stitched_user_id,
        event_date,
        max(case when {{ retention_event_predicate('$any_activity') }} then 1 else 0 end)
            as is_active,
        max(case when {{ retention_event_predicate('Signed Up') }} then 1 else 0 end)
            as signed_up,
        sum(revenue_usd) as revenue_usd
    from events
    group by stitched_user_id, event_date

),

cohort_days as (

    -- The first_time cohorts of the targets `$any_activity` and `Signed Up`. Signup
    -- cohorts come from the first `Signed Up` event only: dim_users.signed_up_at falls
    -- back to the accounts snapshot, which has no event behind it.
    select
        cast('first_activity' as {{ dbt.type_string() }}) as cohort_type,
        stitched_user_id,
        cohort_date
    from ({{ retention_cohort_days('user_days', 'is_active = 1') }}) as first_active

    union all

    select
        cast('signup' as {{ dbt.type_string() }}) as cohort_type,
        stitched_user_id,
        cohort_date
    from ({{ retention_cohort_days('user_days', 'signed_up = 1') }}) as signed_up

),

{{ retention_cells(grains, breakdowns, revenue=true) }},

{% endif %}

measured as (

    {{ retention_measured('counted', revenue=true) }}

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
