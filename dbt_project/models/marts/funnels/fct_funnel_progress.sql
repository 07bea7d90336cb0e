{#- One chain of CTEs per saved funnel (vars.funnels; macros/funnel_counting.sql, which
    the API's ad-hoc engine renders too): the events it can use, one greedy round per
    step and exclusion, its non-void attempts; then every funnel's attempts in one union,
    ranked per person-day and spread into a row per step reached. The CTEs are named by
    the funnel's position, not its name: a name of up to 63 characters plus a suffix
    would overrun PostgreSQL's identifier limit. -#}
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
{#- macros/funnel_counting.sql: the API's engine counts with the same macros. #}
{{ funnel_attempts('funnel_' ~ loop.index, 'events', funnel) }},

{% endfor -%}

attempts as (

    {%- for funnel in funnels %}

    select
        cast({{ funnel_text(funnel.name) }} as {{ dbt.type_string() }}) as funnel_name,
        attempt_id,
        stitched_user_id,
        entry_date,
        entry_device_type,
        furthest_step,
        {{ funnel.steps | length }} as total_steps,
        {%- for number in range(1, max_steps + 1) %}
        {%- if number <= funnel.steps | length %}
        step_{{ number }}_at
        {%- else %}
        cast(null as {{ dbt.type_timestamp() }}) as step_{{ number }}_at
        {%- endif %}
        {{- '' if loop.last else ',' }}
        {%- endfor %}
    from funnel_{{ loop.index }}_attempts
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

ranked_attempts as (

    -- A user counts once per funnel and entry day (funnel_attempt_rank).
    select
        *,
        {{ funnel_attempt_rank(['funnel_name', 'stitched_user_id', 'entry_date']) }}
            as attempt_rank
    from attempts

),

counted_attempts as (

    select * from ranked_attempts
    where attempt_rank = 1

),

progress as (

    {{ funnel_reached_steps(
        'counted_attempts', 'funnel_steps', max_steps,
        keys=['funnel_name'], step_columns=['step_name']) }}

),

final as (

    select
        progress.funnel_name,
        progress.stitched_user_id,
        progress.entry_date,
        progress.attempt_id as entry_message_id,
        progress.step_1_at as entered_at,
        progress.step_number,
        progress.step_name,
        progress.reached_at,
        progress.seconds_from_previous,
        progress.furthest_step,
        progress.total_steps,
        progress.entry_device_type,
        users.first_touch_source
    from progress
    left join users on users.stitched_user_id = progress.stitched_user_id

)

select * from final
