{#- The session stretches (see mart_ml_user_activity_daily) that span more than one
    day, counted per user, first and last day: the churn model counts a session in a
    28-day window by the stretch that starts in it or reaches into it.

    Incremental: an event on a rewritten day (from the earliest changed event day on)
    can only join or split stretches that end at most the gap's length before that day,
    so those are rewritten, from the first day of the earliest of them
    (macros/ml_marts.sql). -#}
{%- set gap_days = var('ml').session_stretch_gap_days -%}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=[
            "last_day >= " ~ "{{ lookback_start(" ~ gap_days ~ ") }}"
        ],
        on_schema_change='fail',
    )
}}

with

session_days as (

    select distinct
        stitched_user_id,
        session_id,
        event_date
    from {{ ref('fct_events') }}
    where session_id is not null and stitched_user_id is not null
    {% if is_incremental() %}
        and event_date >= {{ ml_long_sessions_read_from(gap_days) }}
    {% endif %}

),

session_gaps as (

    select
        stitched_user_id,
        session_id,
        event_date,
        case
            when lag(event_date) over (
                partition by stitched_user_id, session_id order by event_date
            ) >= event_date - {{ gap_days }}
            then 0 else 1
        end as starts_stretch
    from session_days

),

session_numbered as (

    select
        stitched_user_id,
        session_id,
        event_date,
        sum(starts_stretch) over (
            partition by stitched_user_id, session_id
            order by event_date
            rows between unbounded preceding and current row
        ) as stretch
    from session_gaps

),

stretches as (

    select
        stitched_user_id,
        min(event_date) as first_day,
        max(event_date) as last_day
    from session_numbered
    group by stitched_user_id, session_id, stretch

),

final as (

    select
        stitched_user_id,
        first_day,
        last_day,
        count(*) as sessions
    from stretches
    where last_day > first_day
    {% if is_incremental() %}
        and last_day >= {{ lookback_start(gap_days) }}
    {% endif %}
    group by stitched_user_id, first_day, last_day

)

select * from final
