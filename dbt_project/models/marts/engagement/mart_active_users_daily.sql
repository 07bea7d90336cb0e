{#- Incremental: the days from the earliest changed event day on are recomputed from
    int_user_device_activity_daily, reading the 27 days before them (MAU's window);
    new users and users seen come from dim_users. A device type seen for the first
    time also gets its (zero) rows for the days before. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["activity_date >= {{ changed_from_date() }}"],
        on_schema_change='fail',
    )
}}
{#- changed_from_date() reads fct_events; called here too, so that dbt records the
    dependency (the incremental branch alone is not rendered while dbt parses). -#}
{%- do changed_from_date() %}

with recursive

device_days as (

    -- One row per user, device type and day with any event on it.
    select * from {{ ref('int_user_device_activity_daily') }}
    {% if is_incremental() %}
    where activity_date >= {{ lookback_start(27) }}
    {% endif %}

),

users as (

    select * from {{ ref('dim_users') }}

),

active_user_days as (

    -- One row per user, slice and day on which the user was active (docs/metrics.md: an
    -- event other than Page Heartbeat). The `all` slice is platform-wide; a device
    -- type's slice holds the days the user was active on that device type.
    select distinct
        stitched_user_id,
        cast('all' as {{ dbt.type_string() }}) as device_type,
        activity_date
    from device_days
    where is_active

    union all

    select
        stitched_user_id,
        device_type,
        activity_date
    from device_days
    where is_active

),

bounds as (

    -- The first and last activity days (an incremental build: of the days built before
    -- and the days read, as activity days never go away).
    select
        min(activity_date) as first_date,
        max(activity_date) as last_date
    from (
        select activity_date from active_user_days
        where device_type = 'all'
        {% if is_incremental() %}
        union all
        select min(activity_date) from {{ this }}
        union all
        select max(activity_date) from {{ this }}
        {% endif %}
    ) as activity_days

),

date_spine as (

    -- Every calendar day from the first to the last activity day, quiet days included.
    {{ day_spine('date_spine', 'activity_date') }}

),

rewritten_days as (

    select activity_date from date_spine
    {% if is_incremental() %}
    where activity_date >= {{ changed_from_date() }}
    {% endif %}

),

slices as (

    select device_type from active_user_days
    {% if is_incremental() %}
    union
    select device_type from {{ this }}
    {% else %}
    group by device_type
    {% endif %}

),

user_windows as (

    -- Each user active in a slice's 28-day window [d-27, d], with their days active
    -- in it and whether they were active on d and in the 7-day window [d-6, d].
    -- Windows at the start of the data simply hold fewer days.
    select
        rewritten_days.activity_date,
        active_user_days.device_type,
        active_user_days.stitched_user_id,
        count(*) as days_active_28d,
        max(case when active_user_days.activity_date = rewritten_days.activity_date
            then 1 else 0 end) as is_daily_active,
        max(case when active_user_days.activity_date
                >= cast({{ dbt.dateadd('day', -6, 'rewritten_days.activity_date') }} as date)
            then 1 else 0 end) as is_weekly_active
    from rewritten_days
    inner join active_user_days
        on active_user_days.activity_date <= rewritten_days.activity_date
        and active_user_days.activity_date
            >= cast({{ dbt.dateadd('day', -27, 'rewritten_days.activity_date') }} as date)
    group by
        rewritten_days.activity_date,
        active_user_days.device_type,
        active_user_days.stitched_user_id

),

slice_counts as (

    select
        user_windows.activity_date,
        user_windows.device_type,
        count(case when user_windows.is_daily_active = 1 then 1 end) as daily_active_users,
        count(case when user_windows.is_weekly_active = 1 then 1 end) as weekly_active_users,
        count(*) as monthly_active_users,
        -- New: active on d, and d is the day of the user's first activity ever.
        count(case when user_windows.is_daily_active = 1
                and cast(users.first_active_at as date) = user_windows.activity_date
            then 1 end) as new_users,
        count(case when user_windows.days_active_28d >= 20 then 1 end) as power_users,
        count(case when user_windows.days_active_28d between 8 and 19 then 1 end)
            as core_users,
        count(case when user_windows.days_active_28d between 1 and 7 then 1 end)
            as casual_users
    from user_windows
    left join users on users.stitched_user_id = user_windows.stitched_user_id
    group by user_windows.activity_date, user_windows.device_type

),

first_seen_days as (

    select
        cast(first_seen_at as date) as first_seen_date,
        count(*) as users
    from users
    group by cast(first_seen_at as date)

),

users_seen as (

    -- Users seen (any event) on or before each day.
    select
        rewritten_days.activity_date,
        cast(coalesce(sum(first_seen_days.users), 0) as {{ dbt.type_bigint() }})
            as users_seen
    from rewritten_days
    left join first_seen_days
        on first_seen_days.first_seen_date <= rewritten_days.activity_date
    group by rewritten_days.activity_date

),

final as (

    select
        date_spine.activity_date,
        slices.device_type,
        coalesce(slice_counts.daily_active_users, 0) as daily_active_users,
        coalesce(slice_counts.weekly_active_users, 0) as weekly_active_users,
        coalesce(slice_counts.monthly_active_users, 0) as monthly_active_users,
        case when slice_counts.monthly_active_users > 0
            then cast(slice_counts.daily_active_users as double precision)
                / slice_counts.monthly_active_users
        end as stickiness,
        coalesce(slice_counts.new_users, 0) as new_users,
        coalesce(slice_counts.daily_active_users, 0) - coalesce(slice_counts.new_users, 0)
            as returning_users,
        case when slices.device_type = 'all'
            then coalesce(slice_counts.power_users, 0) end as power_users,
        case when slices.device_type = 'all'
            then coalesce(slice_counts.core_users, 0) end as core_users,
        case when slices.device_type = 'all'
            then coalesce(slice_counts.casual_users, 0) end as casual_users,
        -- Dormant: seen on or before d but not active in [d-27, d].
        case when slices.device_type = 'all'
            then users_seen.users_seen - coalesce(slice_counts.monthly_active_users, 0)
        end as dormant_users
    from date_spine
    cross join slices
    left join users_seen on users_seen.activity_date = date_spine.activity_date
    left join slice_counts
        on slice_counts.activity_date = date_spine.activity_date
        and slice_counts.device_type = slices.device_type
    {% if is_incremental() %}
    -- The rewritten days; and a device type new to the table gets its days before
    -- them too (zeros: it had no activity then).
    where date_spine.activity_date >= {{ changed_from_date() }}
        or slices.device_type not in (select device_type from {{ this }})
    {% endif %}

)

select * from final
