{#- Incremental by user: the users whose events changed (or whose devices were re-stitched
    away from them) are recomputed from all their `Experiment Viewed` and goal events, and
    so are the users exposed to an experiment whose seed row (goal event, window) changed
    since (macros/incremental_windows.sql experiment_users_to_rewrite). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["stitched_user_id in {{ experiment_users_to_rewrite() }}"],
        on_schema_change='fail',
    )
}}
{#- The rewrite set reads fct_events and int_identity_map; called here too, so that dbt
    records the dependency (the incremental branch alone is not rendered while dbt
    parses). -#}
{%- do experiment_users_to_rewrite() %}

with

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where stitched_user_id in {{ experiment_users_to_rewrite() }}
    {% endif %}

),

experiments as (

    select * from {{ ref('experiments') }}

),

experiment_views as (

    select
        message_id,
        stitched_user_id,
        event_time,
        {{ json_text('properties', 'experiment_id') }} as experiment_id,
        {{ json_text('properties', 'variant') }} as variant
    from events
    where event_name = 'Experiment Viewed'

),

ranked_views as (

    select
        *,
        row_number() over (
            partition by stitched_user_id, experiment_id order by event_time, message_id
        ) as view_rank
    from experiment_views
    where experiment_id is not null and variant is not null

),

exposures as (

    -- docs/metrics.md: a user is assigned by their first Experiment Viewed per experiment;
    -- exposure = that event. Later views (even of another variant) change nothing.
    -- Experiments missing from the seed are kept (no goal): configuring one later
    -- rewrites its users.
    select
        ranked_views.experiment_id,
        ranked_views.variant,
        ranked_views.stitched_user_id,
        ranked_views.message_id as exposure_message_id,
        ranked_views.event_time as exposed_at,
        experiments.goal_event,
        experiments.window_days
    from ranked_views
    left join experiments on experiments.experiment_id = ranked_views.experiment_id
    where ranked_views.view_rank = 1

),

goal_events as (

    select
        message_id,
        stitched_user_id,
        event_name,
        event_time
    from events
    where event_name in (select experiments.goal_event from experiments)

),

conversions as (

    -- A goal event at or after the exposure time and no later than window_days after
    -- it (both ends inclusive), other than the exposure event itself.
    select
        exposures.experiment_id,
        exposures.stitched_user_id,
        min(goal_events.event_time) as converted_at
    from exposures
    inner join goal_events
        on goal_events.stitched_user_id = exposures.stitched_user_id
        and goal_events.event_name = exposures.goal_event
        and goal_events.event_time >= exposures.exposed_at
        and goal_events.event_time
            <= {{ dbt.dateadd('day', 'exposures.window_days', 'exposures.exposed_at') }}
        and goal_events.message_id <> exposures.exposure_message_id
    group by exposures.experiment_id, exposures.stitched_user_id

),

final as (

    select
        exposures.stitched_user_id,
        exposures.experiment_id,
        exposures.variant,
        exposures.exposure_message_id,
        exposures.exposed_at,
        exposures.goal_event,
        exposures.window_days,
        conversions.converted_at
    from exposures
    left join conversions
        on conversions.experiment_id = exposures.experiment_id
        and conversions.stitched_user_id = exposures.stitched_user_id

)

select * from final
