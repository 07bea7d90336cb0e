{#- A table rebuilt whole on every build: one row per experiment and variant over the
    whole history, read from int_experiment_exposures (one row per exposed user and
    experiment, itself incremental by user), never from the events. -#}
with

experiments as (

    select * from {{ ref('experiments') }}

),

exposures as (

    -- docs/metrics.md: a user is assigned by their first Experiment Viewed per experiment
    -- (int_experiment_exposures); experiments missing from the seed are not reported.
    select int_experiment_exposures.*
    from {{ ref('int_experiment_exposures') }} as int_experiment_exposures
    inner join experiments
        on experiments.experiment_id = int_experiment_exposures.experiment_id

),

variants as (

    select
        exposures.experiment_id,
        exposures.variant,
        min(exposures.exposed_at) as first_exposed_at,
        max(exposures.exposed_at) as last_exposed_at,
        count(*) as users,
        count(exposures.converted_at) as conversions
    from exposures
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
            {{ two_proportion_z_score(
                'control_users', 'control_conversions', 'users', 'conversions') }}
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
