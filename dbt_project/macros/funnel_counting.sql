{#- How a funnel is counted (docs/metrics.md "Funnels", the fct_funnel_progress docs), once
    for the marts and the API's engine (ringside/insights/funnels.py): fct_funnel_progress
    counts per person and entry day, the engine per person over a date range, through
    the same macros. Each takes its relations by name and the definition's values
    through `literal` (macros/sql_literal.sql), and renders CTEs whose names start with
    `prefix` (short: PostgreSQL cuts identifiers at 63 characters). -#}

{#- CTEs ending in `<prefix>_attempts`: one row per non-void attempt of `funnel` (as
    funnel_definition returns it) with attempt_id (the step-1 event's message_id),
    stitched_user_id, entry_date, entry_device_type, step_1_at .. step_n_at (NULL past
    the furthest step) and furthest_step.

    - Every step-1 event is an attempt; with `entry_from`/`entry_to` (SQL dates), only
      those on days in that range, and only the events up to the last day a step can
      fall on are read.
    - Greedy chain: step k is the person's earliest step-k event strictly later than
      the attempt's step k-1 and no later than step 1 + the window (inclusive), so one
      event never fills two steps.
    - An exclusion (a, b) voids an attempt that reached step a when a matching event
      falls strictly between steps a and b (or after step a and inside the window when
      b was not reached); a void attempt counts nowhere.

    Each greedy round is a "next event after t" lookup (funnel_next_event), written as a
    window over the attempts and the step's events rather than a join with min(): a join
    pairs every attempt with every later event of the same person, which grows with the
    square of a heavy user's events (a page view -> page view funnel). -#}
{% macro funnel_attempts(prefix, events, funnel, literal=sql_literal, entry_from=none, entry_to=none) -%}
    {%- set window = literal(funnel.window_seconds, 'window_seconds') -%}
    {%- set flags = [] -%}
    {%- for step in funnel.steps -%}
        {%- do flags.append(('is_step_' ~ step.number, funnel_matcher_predicate(step.matcher, literal))) -%}
    {%- endfor -%}
    {%- for exclusion in funnel.exclusions -%}
        {%- do flags.append(('is_exclusion_' ~ exclusion.number,
            funnel_matcher_predicate(exclusion.matcher, literal))) -%}
    {%- endfor -%}
{{ prefix }}_events as (

    -- Only the events a step or exclusion matches, flagged by which (a NULL column
    -- leaves a predicate NULL: read as false). Every later CTE reads only these.
    select
        message_id,
        stitched_user_id,
        device_type,
        event_time,
        {%- for name, predicate in flags %}
        coalesce({{ predicate }}, false) as {{ name }},
        {%- endfor %}
        event_date
    from {{ events }}
    where
        {%- if entry_from is not none %}
        -- Step 1 on the last entry day just before midnight, plus the window.
        event_date >= {{ entry_from }}
        and event_date <= cast({{ dbt.dateadd(
            'second', window ~ ' + 86400', 'cast(' ~ entry_to ~ ' as ' ~ dbt.type_timestamp() ~ ')') | trim }}
            as date)
        and
        {%- endif %} (
            {%- for name, predicate in flags %}
            {{ '' if loop.first else 'or ' }}{{ predicate }}
            {%- endfor %}
        )

),

{{ prefix }}_entries as (

    -- Every step-1 event is an attempt (docs/metrics.md: the user may convert through any
    -- of their step-1 events); its window ends conversion_window after it, inclusive.
    select
        message_id as attempt_id,
        stitched_user_id,
        event_date as entry_date,
        device_type as entry_device_type,
        event_time as step_1_at,
        {{ dbt.dateadd('second', window, 'event_time') | trim }} as deadline
    from {{ prefix }}_events
    where is_step_1
        {%- if entry_to is not none %}
        and event_date <= {{ entry_to }}
        {%- endif %}

),
{% for step in funnel.steps[1:] %}
{%- set k = step.number %}
{{ funnel_next_event(
    prefix ~ '_step_' ~ k, prefix ~ '_events',
    prefix ~ ('_entries' if k == 2 else '_reached_' ~ (k - 1)),
    'step_' ~ (k - 1) ~ '_at', 'is_step_' ~ k) }},

{{ prefix }}_reached_{{ k }} as (

    -- Greedy: the attempts that reached step {{ k }}, at the earliest step-{{ k }} event
    -- strictly after their step {{ k - 1 }} and inside the window.
    select attempt_id, stitched_user_id, deadline, next_at as step_{{ k }}_at
    from {{ prefix }}_step_{{ k }}_next
    where is_anchor and next_at <= deadline

),
{% endfor %}
{%- for exclusion in funnel.exclusions %}
{%- set j = exclusion.number %}
{{ funnel_next_event(
    prefix ~ '_exclusion_' ~ j, prefix ~ '_events',
    prefix ~ ('_entries' if exclusion.from_step == 1 else '_reached_' ~ exclusion.from_step),
    'step_' ~ exclusion.from_step ~ '_at', 'is_exclusion_' ~ j) }},

{{ prefix }}_exclusion_{{ j }} as (

    -- Per attempt that reached step {{ exclusion.from_step }}: its first exclusion-{{ j }}
    -- event after that step and inside the window.
    select attempt_id, next_at as exclusion_{{ j }}_at
    from {{ prefix }}_exclusion_{{ j }}_next
    where is_anchor and next_at <= deadline

),
{% endfor %}
{{ prefix }}_attempts as (

    -- Every attempt with its step times and furthest step, void ones left out: an
    -- exclusion's first event after step a voids the attempt unless it comes at or after
    -- step b; when b was not reached the comparison is NULL, which voids too.
    select
        entries.attempt_id,
        entries.stitched_user_id,
        entries.entry_date,
        entries.entry_device_type,
        entries.step_1_at,
        {%- for step in funnel.steps[1:] %}
        reached_{{ step.number }}.step_{{ step.number }}_at,
        {%- endfor %}
        case
            {%- for step in funnel.steps[1:] | reverse %}
            when reached_{{ step.number }}.step_{{ step.number }}_at is not null then {{ step.number }}
            {%- endfor %}
            else 1
        end as furthest_step
    from {{ prefix }}_entries as entries
    {%- for step in funnel.steps[1:] %}
    left join {{ prefix }}_reached_{{ step.number }} as reached_{{ step.number }}
        on reached_{{ step.number }}.attempt_id = entries.attempt_id
    {%- endfor %}
    {%- for exclusion in funnel.exclusions %}
    left join {{ prefix }}_exclusion_{{ exclusion.number }} as exclusion_{{ exclusion.number }}
        on exclusion_{{ exclusion.number }}.attempt_id = entries.attempt_id
    {%- endfor %}
    {%- for exclusion in funnel.exclusions %}
    {{ 'where' if loop.first else '    and' }} (
        exclusion_{{ exclusion.number }}.exclusion_{{ exclusion.number }}_at is null
        or exclusion_{{ exclusion.number }}.exclusion_{{ exclusion.number }}_at
            >= reached_{{ exclusion.to_step }}.step_{{ exclusion.to_step }}_at
    )
    {%- endfor %}

)
{%- endmacro %}

{#- CTEs `<name>_candidates` and `<name>_next`: for each row of `anchors` (an attempt at
    some step), `next_at` = the time of the person's first `events` row flagged `flag`
    strictly later than `anchor_at` (NULL when none).

    Newest first, an anchor's preceding rows are the later ones; at equal times anchors
    sort before events, so an event at the anchor's own time is not among them. The
    frame starts at the partition's head, which both engines aggregate incrementally.
    Only people with both anchors and flagged events take part: the others cannot move
    on. -#}
{% macro funnel_next_event(name, events, anchors, anchor_at, flag) -%}
{{ name }}_candidates as (

    select attempt_id, stitched_user_id, deadline, {{ anchor_at }} as at_time, true as is_anchor
    from {{ anchors }}
    where stitched_user_id in (select stitched_user_id from {{ events }} where {{ flag }})
    union all
    select null, stitched_user_id, null, event_time, false
    from {{ events }}
    where {{ flag }}
        and stitched_user_id in (select stitched_user_id from {{ anchors }})

),

{{ name }}_next as (

    select
        attempt_id,
        stitched_user_id,
        deadline,
        is_anchor,
        min(case when not is_anchor then at_time end) over (
            partition by stitched_user_id
            order by at_time desc, is_anchor desc
            rows between unbounded preceding and 1 preceding
        ) as next_at
    from {{ name }}_candidates

)
{%- endmacro %}

{#- Ranks a person's attempts (within `partition_by`: a person-day in the mart, a person
    over the range in the engine); rank 1 is the one counted. docs/metrics.md: the attempt
    that got furthest, the earliest on ties; the step-1 event's message_id settles exact
    ties, so rebuilds agree. -#}
{% macro funnel_attempt_rank(partition_by) -%}
    row_number() over (
        partition by {{ partition_by | join(', ') }}
        order by furthest_step desc, step_1_at, attempt_id
    )
{%- endmacro %}

{#- One row per counted attempt (`attempts`, with step_1_at .. step_<max_steps>_at and
    furthest_step) and step it reached: the step's `reached_at` and seconds_from_previous
    (fractional; NULL at step 1). `steps` holds step_number (joined on `keys` too);
    `step_columns` of it are carried along. -#}
{% macro funnel_reached_steps(attempts, steps, max_steps, keys=[], step_columns=[]) -%}
    select
        {{ attempts }}.*,
        {{ steps }}.step_number,
        {%- for column in step_columns %}
        {{ steps }}.{{ column }},
        {%- endfor %}
        case {{ steps }}.step_number
            {%- for number in range(1, max_steps + 1) %}
            when {{ number }} then {{ attempts }}.step_{{ number }}_at
            {%- endfor %}
        end as reached_at,
        case {{ steps }}.step_number
            {%- for number in range(2, max_steps + 1) %}
            when {{ number }} then {{ seconds_between(
                attempts ~ '.step_' ~ (number - 1) ~ '_at', attempts ~ '.step_' ~ number ~ '_at') }}
            {%- endfor %}
        end as seconds_from_previous
    from {{ attempts }}
    inner join {{ steps }}
        on {{ steps }}.step_number <= {{ attempts }}.furthest_step
        {%- for key in keys %}
        and {{ steps }}.{{ key }} = {{ attempts }}.{{ key }}
        {%- endfor %}
{%- endmacro %}

{#- `select 1 as step_number union all ...`: the steps of a funnel without a table. -#}
{% macro funnel_step_numbers(total_steps) -%}
    {%- for number in range(1, total_steps + 1) %}
    select {{ number }} as step_number
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- The breakdowns of the funnel report: the person's first-touch source (dim_users), or
    the device type of the counted attempt's step-1 event; the column of the progress
    rows each reads. -#}
{% macro funnel_breakdown_columns() -%}
    {{ return({'first_touch_source': 'first_touch_source', 'device_type': 'entry_device_type'}) }}
{%- endmacro %}

{#- Each progress row (step_number, seconds_from_previous and `columns`) once for `all`
    and once per breakdown in `breakdowns`, with its value of it; a missing value reads
    `(none)`. One value per person (and day), so a breakdown's values add up to all. -#}
{% macro funnel_breakdown_rows(progress, breakdowns, columns=[]) -%}
    {%- set breakdown_columns = funnel_breakdown_columns() -%}
    {%- for breakdown in ['all'] + breakdowns %}
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        cast('{{ breakdown }}' as {{ dbt.type_string() }}) as breakdown,
        {%- if breakdown == 'all' %}
        cast('all' as {{ dbt.type_string() }}) as breakdown_value,
        {%- else %}
        coalesce({{ breakdown_columns[breakdown] }}, '(none)') as breakdown_value,
        {%- endif %}
        step_number,
        seconds_from_previous
    from {{ progress }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- CTEs ending in `<prefix>`: the report per step (docs/metrics.md "Report per step") of
    each `group_by` group of the breakdown `rows` that has entries, dense over the
    `steps` (joined on `keys`; `step_columns` of them carried along): a step nobody
    reached has 0 users and no timing.

    users = people reaching the step; conversion_from_start = users / step-1 users;
    conversion_from_previous = users / the previous step's (1 at step 1); drop_off_users
    = previous step's users - users (0 at step 1); drop_off_rate = drop_off_users /
    previous step's users (0 at step 1); rates are NULL over 0 users. The time from the
    previous step over the people reaching it: the mean, and the median by
    percentile_cont(0.5) (with an even count, the mean of the two middle values). -#}
{% macro funnel_step_report(prefix, rows, steps, group_by, keys=[], step_columns=[]) -%}
{{ prefix }}_totals as (

    select
        {{ group_by | join(', ') }},
        step_number,
        count(*) as users,
        avg(seconds_from_previous) as avg_seconds_from_previous,
        percentile_cont(0.5) within group (order by seconds_from_previous)
            as median_seconds_from_previous
    from {{ rows }}
    group by {{ group_by | join(', ') }}, step_number

),

{{ prefix }}_groups as (

    select {{ group_by | join(', ') }}, users as entered_users
    from {{ prefix }}_totals
    where step_number = 1

),

{{ prefix }}_dense as (

    select
        {%- for column in group_by %}
        entry_groups.{{ column }},
        {%- endfor %}
        {{ steps }}.step_number,
        {%- for column in step_columns %}
        {{ steps }}.{{ column }},
        {%- endfor %}
        entry_groups.entered_users,
        coalesce(totals.users, 0) as users,
        totals.avg_seconds_from_previous,
        totals.median_seconds_from_previous
    from {{ prefix }}_groups as entry_groups
    {%- if keys %}
    inner join {{ steps }}
        on {% for key in keys %}{{ '' if loop.first else ' and ' }}{{ steps }}.{{ key }} = entry_groups.{{ key }}{% endfor %}
    {%- else %}
    cross join {{ steps }}
    {%- endif %}
    left join {{ prefix }}_totals as totals
        on totals.step_number = {{ steps }}.step_number
        {%- for column in group_by %}
        and totals.{{ column }} = entry_groups.{{ column }}
        {%- endfor %}

),

{{ prefix }}_previous as (

    select
        *,
        lag(users) over (
            partition by {{ group_by | join(', ') }}
            order by step_number
        ) as previous_users
    from {{ prefix }}_dense

),

{{ prefix }} as (

    select
        {%- for column in group_by %}
        {{ column }},
        {%- endfor %}
        step_number,
        {%- for column in step_columns %}
        {{ column }},
        {%- endfor %}
        users,
        {{ proportion('users', 'entered_users') }} as conversion_from_start,
        case
            when step_number = 1 then cast(1 as {{ type_double() }})
            else {{ proportion('users', 'previous_users') }}
        end as conversion_from_previous,
        coalesce(previous_users - users, 0) as drop_off_users,
        case
            when step_number = 1 then cast(0 as {{ type_double() }})
            else {{ proportion('previous_users - users', 'previous_users') }}
        end as drop_off_rate,
        avg_seconds_from_previous,
        median_seconds_from_previous
    from {{ prefix }}_previous

)
{%- endmacro %}
