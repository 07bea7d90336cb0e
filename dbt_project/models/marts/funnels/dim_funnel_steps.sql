with

saved_funnel_steps as (

    -- The saved funnels live in dbt_project.yml (vars.funnels), not in a table.
    {{ funnel_step_rows() }}

),

final as (

    select
        funnel_name,
        funnel_description,
        step_number,
        step_name,
        step_matcher,
        total_steps,
        conversion_window,
        conversion_window_seconds,
        exclusions
    from saved_funnel_steps

)

select * from final
