{#- Incremental: the days from the earliest changed event day on are recomputed
    (macros/incremental.sql). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["activity_date >= {{ changed_from_date() }}"],
        on_schema_change='fail',
    )
}}

with

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where event_date >= {{ changed_from_date() }}
    {% endif %}

),

final as (

    -- One row per user, device type and UTC day with any event on that device type.
    select
        stitched_user_id,
        device_type,
        event_date as activity_date,
        -- docs/metrics.md: active = at least one event other than Page Heartbeat.
        max(case when is_active_event then 1 else 0 end) = 1 as is_active
    from events
    group by stitched_user_id, device_type, event_date

)

select * from final
