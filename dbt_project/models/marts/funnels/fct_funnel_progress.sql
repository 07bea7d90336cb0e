{#- One chain of CTEs per saved funnel (vars.funnels, through macros/funnels.sql): the
    events it can use, one greedy round per step, its attempts; then every funnel's
    attempts in one union, ranked and spread into a row per step reached. The CTEs are
    named by the funnel's position, not its name: a name of up to 63 characters plus a
    suffix would overrun PostgreSQL's identifier limit. -#}
{%- set funnels = funnel_definitions() -%}
{%- set max_steps = funnels | map(attribute='steps') | map('length') | max -%}
{#- Incremental (macros/incremental_cohorts.sql): an event at time t can change only the
    attempts whose step 1 lies in [t - W, t], so the entry days from the earliest changed
    event day minus the longest window (in whole days) on are rewritten, from the events
    of those days on. A re-stitched device's events are all changed rows
    (fct_events), so its users' attempts fall in that range too. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["entry_date >= {{ funnel_rewrite_from() }}"],
        on_schema_change='fail',
    )
}}

with

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where event_date >= {{ funnel_rewrite_from() }}
    {% endif %}

),

users as (

    select * from {{ ref('dim_users') }}

),

funnel_steps as (

    {{ funnel_step_rows() }}

),

{% for funnel in funnels -%}
{%- set f = 'funnel_' ~ loop.index -%}
{%- set matchers = funnel.steps | map(attribute='matcher') | list
    + funnel.exclusions | map(attribute='matcher') | list %}
{{ f }}_events as (

    -- {{ funnel.name }}: only the events one of its steps or exclusions matches, so the
    -- joins below stay small.
    select
        {%- for step in funnel.steps %}
        coalesce({{ funnel_matcher_predicate(step.matcher) }}, false)
            as matches_step_{{ step.number }},
        {%- endfor %}
        {%- for exclusion in funnel.exclusions %}
        coalesce({{ funnel_matcher_predicate(exclusion.matcher) }}, false)
            as matches_exclusion_{{ exclusion.number }},
        {%- endfor %}
        message_id,
        stitched_user_id,
        device_type,
        event_time,
        event_date
    from events
    where
        {%- for matcher in matchers %}
        {{ '' if loop.first else 'or ' }}{{ funnel_matcher_predicate(matcher) }}
        {%- endfor %}

),

{{ f }}_step_1 as (

    -- Every step-1 event is an attempt (docs/metrics.md: the user may convert through any of
    -- their step-1 events); its window ends conversion_window after it, inclusive.
    select
        message_id as entry_message_id,
        stitched_user_id,
        event_date as entry_date,
        device_type as entry_device_type,
        {{ dbt.dateadd('second', funnel.window_seconds, 'event_time') | trim }} as window_ends_at,
        event_time as reached_at
    from {{ f }}_events
    where matches_step_1

),
{% for step in funnel.steps[1:] %}
{{ f }}_step_{{ step.number }} as (

    -- Greedy: the earliest step-{{ step.number }} event strictly after the step
    -- {{ step.number - 1 }} event the attempt reached (so one event never fills two steps)
    -- and no later than the window's end.
    select
        previous_step.entry_message_id,
        previous_step.stitched_user_id,
        previous_step.window_ends_at,
        min(events.event_time) as reached_at
    from {{ f }}_step_{{ step.number - 1 }} as previous_step
    inner join {{ f }}_events as events
        on events.stitched_user_id = previous_step.stitched_user_id
        and events.matches_step_{{ step.number }}
        and events.event_time > previous_step.reached_at
        and events.event_time <= previous_step.window_ends_at
    group by
        previous_step.entry_message_id,
        previous_step.stitched_user_id,
        previous_step.window_ends_at

),
{% endfor %}
{{ f }}_attempts as (

    select
        step_1.entry_message_id,
        step_1.stitched_user_id,
        step_1.entry_date,
        step_1.entry_device_type,
        step_1.window_ends_at,
        {%- for step in funnel.steps %}
        step_{{ step.number }}.reached_at as step_{{ step.number }}_at
        {{- '' if loop.last else ',' }}
        {%- endfor %}
    from {{ f }}_step_1 as step_1
    {%- for step in funnel.steps[1:] %}
    left join {{ f }}_step_{{ step.number }} as step_{{ step.number }}
        on step_{{ step.number }}.entry_message_id = step_1.entry_message_id
    {%- endfor %}

),

{% endfor -%}

attempts as (

    {%- for funnel in funnels %}
    {%- set f = 'funnel_' ~ loop.index %}

    select
        cast({{ funnel_text(funnel.name) }} as {{ dbt.type_string() }}) as funnel_name,
        attempt.entry_message_id,
        attempt.stitched_user_id,
        attempt.entry_date,
        attempt.entry_device_type,
        case
            {%- for step in funnel.steps[1:] | reverse %}
            when attempt.step_{{ step.number }}_at is not null then {{ step.number }}
            {%- endfor %}
            else 1
        end as furthest_step,
        {{ funnel.steps | length }} as total_steps,
        {%- for number in range(1, max_steps + 1) %}
        {%- if number <= funnel.steps | length %}
        attempt.step_{{ number }}_at
        {%- else %}
        cast(null as {{ dbt.type_timestamp() }}) as step_{{ number }}_at
        {%- endif %}
        {{- '' if loop.last else ',' }}
        {%- endfor %}
    from {{ f }}_attempts as attempt
    {%- if funnel.exclusions %}
    -- docs/metrics.md exclusion steps: an exclusion event after step `from_step` and before
    -- step `to_step` — or, when the attempt never reached `to_step`, up to the window's
    -- end — voids the attempt everywhere, step 1 included. Attempts that never reached
    -- `from_step` compare against NULL and are not voided.
    where not exists (
        select 1
        from {{ f }}_events as events
        where events.stitched_user_id = attempt.stitched_user_id
            and (
                {%- for exclusion in funnel.exclusions %}
                {{ '' if loop.first else 'or ' }}(
                    events.matches_exclusion_{{ exclusion.number }}
                    and events.event_time > attempt.step_{{ exclusion.from_step }}_at
                    and (
                        events.event_time < attempt.step_{{ exclusion.to_step }}_at
                        or (
                            attempt.step_{{ exclusion.to_step }}_at is null
                            and events.event_time <= attempt.window_ends_at
                        )
                    )
                )
                {%- endfor %}
            )
    )
    {%- endif %}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

ranked_attempts as (

    -- docs/metrics.md: a user counts once (here: per funnel and entry day), through the
    -- attempt that got furthest, the earliest on ties; message_id settles exact ties.
    select
        *,
        row_number() over (
            partition by funnel_name, stitched_user_id, entry_date
            order by furthest_step desc, step_1_at asc, entry_message_id asc
        ) as attempt_rank
    from attempts

),

final as (

    select
        ranked_attempts.funnel_name,
        ranked_attempts.stitched_user_id,
        ranked_attempts.entry_date,
        ranked_attempts.entry_message_id,
        ranked_attempts.step_1_at as entered_at,
        funnel_steps.step_number,
        funnel_steps.step_name,
        case funnel_steps.step_number
            {%- for number in range(1, max_steps + 1) %}
            when {{ number }} then ranked_attempts.step_{{ number }}_at
            {%- endfor %}
        end as reached_at,
        case funnel_steps.step_number
            {%- for number in range(2, max_steps + 1) %}
            when {{ number }} then cast({{ seconds_between(
                'ranked_attempts.step_' ~ (number - 1) ~ '_at',
                'ranked_attempts.step_' ~ number ~ '_at') }} as {{ type_double() }})
            {%- endfor %}
        end as seconds_from_previous,
        ranked_attempts.furthest_step,
        ranked_attempts.total_steps,
        ranked_attempts.entry_device_type,
        users.first_touch_source
    from ranked_attempts
    inner join funnel_steps
        on funnel_steps.funnel_name = ranked_attempts.funnel_name
        and funnel_steps.step_number <= ranked_attempts.furthest_step
    left join users on users.stitched_user_id = ranked_attempts.stitched_user_id
    where ranked_attempts.attempt_rank = 1

)

select * from final
