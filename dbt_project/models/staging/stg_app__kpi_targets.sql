with

latest_snapshot as (

    {{ latest_snapshot(source('app', 'kpi_targets')) }}

),

final as (

    select
        metric,
        grain,
        target,
        coalesce(tolerance, 0) as tolerance,
        alert_threshold,
        owner,
        snapshot_at
    from latest_snapshot

)

select * from final
