with

events as (

    select * from {{ ref('fct_events') }}

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
    select
        ranked_views.experiment_id,
        ranked_views.variant,
        ranked_views.stitched_user_id,
        ranked_views.message_id as exposure_message_id,
        ranked_views.event_time as exposed_at,
        experiments.goal_event,
        experiments.window_days
    from ranked_views
    inner join experiments on experiments.experiment_id = ranked_views.experiment_id
    where ranked_views.view_rank = 1

),

goal_events as (

    select message_id, stitched_user_id, event_name, event_time
    from events
    where event_name in (select goal_event from experiments)

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

variants as (

    select
        exposures.experiment_id,
        exposures.variant,
        min(exposures.exposed_at) as first_exposed_at,
        max(exposures.exposed_at) as last_exposed_at,
        count(*) as users,
        count(conversions.converted_at) as conversions
    from exposures
    left join conversions
        on conversions.experiment_id = exposures.experiment_id
        and conversions.stitched_user_id = exposures.stitched_user_id
    group by exposures.experiment_id, exposures.variant

),

compared as (

    -- Every variant next to its experiment's control group (NULL when the control
    -- variant has no exposed users).
    select
        variants.experiment_id,
        variants.variant,
        variants.variant = experiments.control_variant as is_control,
        experiments.goal_event,
        experiments.window_days,
        variants.first_exposed_at,
        variants.last_exposed_at,
        variants.users,
        variants.conversions,
        control.users as control_users,
        control.conversions as control_conversions
    from variants
    inner join experiments on experiments.experiment_id = variants.experiment_id
    left join variants as control
        on control.experiment_id = variants.experiment_id
        and control.variant = experiments.control_variant

),

tested as (

    select
        *,
        case when not is_control then
            {{ two_proportion_z_score('control_users', 'control_conversions', 'users', 'conversions') }}
        end as z_score
    from compared

),

final as (

    select
        {{ surrogate_key(['experiment_id', 'variant']) }} as experiment_variant_id,
        experiment_id,
        variant,
        is_control,
        goal_event,
        window_days,
        first_exposed_at,
        last_exposed_at,
        users,
        conversions,
        {{ proportion('conversions', 'users') }} as conversion_rate,
        control_users,
        control_conversions,
        {{ proportion('control_conversions', 'control_users') }} as control_conversion_rate,
        case when not is_control then
            {{ proportion('conversions', 'users') }}
            - {{ proportion('control_conversions', 'control_users') }}
        end as absolute_lift,
        case when not is_control then
            (
                {{ proportion('conversions', 'users') }}
                - {{ proportion('control_conversions', 'control_users') }}
            ) / nullif({{ proportion('control_conversions', 'control_users') }}, 0)
        end as relative_lift,
        z_score,
        {{ two_sided_p_value('z_score') }} as p_value,
        case when not is_control then
            {{ proportion_difference_ci(
                'control_users', 'control_conversions', 'users', 'conversions', 'lower') }}
        end as ci_lower,
        case when not is_control then
            {{ proportion_difference_ci(
                'control_users', 'control_conversions', 'users', 'conversions', 'upper') }}
        end as ci_upper
    from tested

)

select * from final
