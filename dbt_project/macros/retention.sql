{#- Cohort retention (docs/metrics.md "Retention (cohorts)"), once for mart_cohort_retention
    and the API's ad-hoc engine (ringside/insights/retention.py): the mart builds the
    `first_activity` and `signup` cohorts of every grain, the engine the cohorts of any
    target event, through the same macros. Period bounds: macros/cohort_periods.sql. -#}

{#- Event tokens a retention query may name instead of a `track` event name, and the
    fct_events flag each stands for. -#}
{% macro retention_event_tokens() -%}
    {{ return({'$any_activity': 'is_active_event', '$pageview': 'is_page_view'}) }}
{%- endmacro %}

{#- Boolean SQL over fct_events columns: the event is `event` (a token, or a `track`
    event name given through `literal`). `$any_activity` is any event but heartbeats
    (docs/metrics.md "Active"), so the mart's `first_activity` cohorts are the cohorts
    of the target `$any_activity`, and its `signup` cohorts those of `Signed Up`. -#}
{% macro retention_event_predicate(event, literal=sql_literal) -%}
    {%- set tokens = retention_event_tokens() -%}
    {%- if event in tokens -%}
        {{ tokens[event] }}
    {%- else -%}
        (event_name = {{ literal(event, 'event') }})
    {%- endif -%}
{%- endmacro %}

{#- Cohort membership: (stitched_user_id, cohort_date) from the rows of `events` (with
    stitched_user_id, event_date) where `flag` holds. `first_time`: the day of a person's
    first-ever such row (earlier data counts too, so with `start` a person whose first
    one is before it is left out; `end` bounds the rows read). `recurring`: every day
    in [start, end] with such a row starts a cohort (one per period, once truncated). -#}
{% macro retention_cohort_days(events, flag, mode='first_time', start=none, end=none) -%}
    {%- if mode == 'first_time' -%}
    select stitched_user_id, min(event_date) as cohort_date
    from {{ events }}
    where {{ flag }}
        {%- if end is not none %}
        and event_date <= {{ end }}
        {%- endif %}
    group by stitched_user_id
    {%- if start is not none %}
    having min(event_date) >= {{ start }}
    {%- endif %}
    {%- elif mode == 'recurring' -%}
    select distinct stitched_user_id, event_date as cohort_date
    from {{ events }}
    where {{ flag }}
        and event_date >= {{ start }}
        and event_date <= {{ end }}
    {%- else -%}
    {{ exceptions.raise_compiler_error("cohort mode must be first_time or recurring, got " ~ mode) }}
    {%- endif -%}
{%- endmacro %}

{#- A CTE `member_breakdowns`: each cohort member once per breakdown, with their value of
    it (NULL reads '(none)'), carrying `columns` of the members relation. -#}
{% macro cohort_member_breakdowns(members, users, breakdowns, columns=['cohort_start', 'cohort_end', 'last_return_start']) -%}
member_breakdowns as (

    -- Each member once per breakdown, with their value of it (NULL reads '(none)').
    select
        cohort_type,
        period_grain,
        stitched_user_id,
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        cast('all' as {{ dbt.type_string() }}) as breakdown,
        cast('all' as {{ dbt.type_string() }}) as breakdown_value
    from {{ members }}
    {%- for breakdown in breakdowns %}

    union all

    select
        {{ members }}.cohort_type,
        {{ members }}.period_grain,
        {{ members }}.stitched_user_id,
        {%- for column in columns %}
        {{ members }}.{{ column }},
        {%- endfor %}
        cast('{{ breakdown }}' as {{ dbt.type_string() }}) as breakdown,
        coalesce(cast({{ users }}.{{ breakdown }} as {{ dbt.type_string() }}), '(none)')
            as breakdown_value
    from {{ members }}
    left join {{ users }} on {{ users }}.stitched_user_id = {{ members }}.stitched_user_id
    {%- endfor %}

)
{%- endmacro %}

{#- The retention matrix: CTEs ending in `counted`, one row per cohort type x grain x
    breakdown x value x cohort x period number N, dense from the cohort's own period
    (N = 0) to the one holding `as_of_date`, with cohort_start, period_start, period_end,
    is_complete, cohort_size, active_users (members with a return in exactly period
    c + N) and returning_now_or_later (members whose last return, N >= 1, is in c + N or
    later) — and with `revenue`, period_revenue_usd and revenue_to_date_usd.

    The caller defines the CTEs it reads:
    - `bounds` (first_date, as_of_date): the days the periods cover; as_of_date, the last
      day with data, is taken as complete (a period is complete when it ends by then);
    - `cohort_days` (cohort_type, stitched_user_id, cohort_date): retention_cohort_days;
    - `user_days` (stitched_user_id, event_date, is_active: 1 on a day with a return
      event; with `revenue`, revenue_usd);
    - `users` (stitched_user_id and the `breakdowns` columns) when there are breakdowns.
    The model must start with `with recursive` (the day spine). -#}
{% macro retention_cells(grains, breakdowns=[], revenue=false) -%}
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

cohort_members as (

    -- A member is in a cohort once per period (a recurring cohort day may repeat it).
    select distinct
        cohort_days.cohort_type,
        day_periods.period_grain,
        cohort_days.stitched_user_id,
        day_periods.period_index as cohort_index
    from cohort_days
    inner join day_periods on day_periods.date_day = cohort_days.cohort_date

),

{{ cohort_member_breakdowns('cohort_members', 'users', breakdowns, ['cohort_index']) }},

user_periods as (

    select
        day_periods.period_grain,
        user_days.stitched_user_id,
        day_periods.period_index,
        max(user_days.is_active) as is_active
        {%- if revenue %},
        sum(user_days.revenue_usd) as revenue_usd
        {%- endif %}
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
        cohort_members.cohort_index,
        user_periods.period_index - cohort_members.cohort_index as period_number,
        user_periods.is_active
        {%- if revenue %},
        user_periods.revenue_usd
        {%- endif %}
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
        cohort_index,
        max(period_number) as last_return_number
    from member_periods
    where is_active = 1 and period_number >= 1
    group by cohort_type, period_grain, stitched_user_id, cohort_index

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
    -- day with data, quiet ones included — the members' activity (and revenue), and
    -- the period of each member's last return.
    select
        cohort_sizes.cohort_type,
        cohort_sizes.period_grain,
        cohort_sizes.breakdown,
        cohort_sizes.breakdown_value,
        cohort_sizes.cohort_index,
        periods.period_index - cohort_sizes.cohort_index as period_number,
        cohort_sizes.cohort_size,
        0 as is_active,
        {%- if revenue %}
        cast(null as {{ type_money() }}) as revenue_usd,
        {%- endif %}
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
        {%- if revenue %}
        member_periods.revenue_usd,
        {%- endif %}
        0 as is_last_return
    from member_breakdowns
    inner join member_periods
        on member_periods.cohort_type = member_breakdowns.cohort_type
        and member_periods.period_grain = member_breakdowns.period_grain
        and member_periods.stitched_user_id = member_breakdowns.stitched_user_id
        and member_periods.cohort_index = member_breakdowns.cohort_index

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
        {%- if revenue %}
        null as revenue_usd,
        {%- endif %}
        1 as is_last_return
    from member_breakdowns
    inner join member_last_returns
        on member_last_returns.cohort_type = member_breakdowns.cohort_type
        and member_last_returns.period_grain = member_breakdowns.period_grain
        and member_last_returns.stitched_user_id = member_breakdowns.stitched_user_id
        and member_last_returns.cohort_index = member_breakdowns.cohort_index

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
        {%- if revenue %}
        coalesce(sum(revenue_usd), 0) as period_revenue_usd,
        {%- endif %}
        cast(sum(is_last_return) as {{ dbt.type_bigint() }}) as last_returning_users
    from stacked
    group by cohort_type, period_grain, breakdown, breakdown_value, cohort_index, period_number

),

accumulated as (

    select
        *,
        {%- if revenue %}
        sum(period_revenue_usd) over (
            partition by cohort_type, period_grain, breakdown, breakdown_value, cohort_index
            order by period_number
            rows between unbounded preceding and current row
        ) as revenue_to_date_usd,
        {%- endif %}
        cast(sum(last_returning_users) over (
            partition by cohort_type, period_grain, breakdown, breakdown_value, cohort_index
            order by period_number desc
            rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as returning_now_or_later
    from period_totals

),

counted as (

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
        accumulated.active_users,
        accumulated.returning_now_or_later
        {%- if revenue %},
        accumulated.period_revenue_usd,
        accumulated.revenue_to_date_usd
        {%- endif %}
    from accumulated
    inner join periods as cohort_periods
        on cohort_periods.period_grain = accumulated.period_grain
        and cohort_periods.period_index = accumulated.cohort_index
    inner join periods
        on periods.period_grain = accumulated.period_grain
        and periods.period_index = accumulated.cohort_index + accumulated.period_number

)
{%- endmacro %}

{#- The cells of the matrix (`counted`, as retention_cells or the mart's incremental
    branch build it). Period 0 is the cohort itself (100 %) even while it is still
    running; any later period that has not fully elapsed is NULL, never 0 — N-day and
    unbounded retention alike (and revenue). -#}
{% macro retention_measured(counted, revenue=false) -%}
    select
        cohort_type,
        period_grain,
        breakdown,
        breakdown_value,
        cohort_start,
        cast(period_number as {{ dbt.type_bigint() }}) as period_number,
        period_start,
        period_end,
        is_complete,
        cast(cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(case
            when period_number = 0 then cohort_size
            when is_complete then active_users
        end as {{ dbt.type_bigint() }}) as retained_users,
        cast(case
            when period_number = 0 then cohort_size
            when is_complete then returning_now_or_later
        end as {{ dbt.type_bigint() }}) as unbounded_retained_users
        {%- if revenue %},
        cast(case when is_complete then period_revenue_usd end as {{ type_money_total() }})
            as revenue_usd,
        cast(case when is_complete then revenue_to_date_usd end as {{ type_money_total() }})
            as cumulative_revenue_usd
        {%- endif %}
    from {{ counted }}
{%- endmacro %}
