{#- Incremental: the days from the earliest changed event day on are recomputed from
    int_user_activity_daily, reading the 27 days before them (days active in [d-27, d])
    and each of those users' latest active day before that (last activity). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["event_date >= {{ changed_from_date() }}"],
        on_schema_change='fail',
    )
}}
{#- changed_from_date() reads fct_events; called here too, so that dbt records the
    dependency (the incremental branch alone is not rendered while dbt parses). -#}
{%- do changed_from_date() %}

with

user_days as (

    -- One row per user per UTC day with any event (heartbeats included).
    select * from {{ ref('int_user_activity_daily') }}
    {% if is_incremental() %}
    where activity_date >= {{ lookback_start(27) }}
    {% endif %}

),

rewritten_days as (

    select * from user_days
    {% if is_incremental() %}
    where activity_date >= {{ changed_from_date() }}
    {% endif %}

),

engagement_weights as (

    select * from {{ ref('engagement_weights') }}

),

weights as (

    -- The seed as one row of weights; an activity missing from the seed weighs 0.
    select
        coalesce(max(case when activity = 'page_views' then weight end), 0)
            as page_views_weight,
        coalesce(max(case when activity = 'engaged_minutes' then weight end), 0)
            as engaged_minutes_weight,
        coalesce(max(case when activity = 'video_completions' then weight end), 0)
            as video_completions_weight,
        coalesce(max(case when activity = 'likes' then weight end), 0) as likes_weight,
        coalesce(max(case when activity = 'shares' then weight end), 0) as shares_weight,
        coalesce(max(case when activity = 'comments' then weight end), 0) as comments_weight,
        coalesce(max(case when activity = 'searches' then weight end), 0) as searches_weight
    from engagement_weights

),

active_days as (

    select
        stitched_user_id,
        activity_date as active_date
    from user_days
    where is_active

),

earlier_activity as (

    -- The latest active day before the look-back, of the users with a rewritten day
    -- (none on a full build: every day is read).
    {% if is_incremental() %}
    select stitched_user_id, max(activity_date) as active_date
    from {{ ref('int_user_activity_daily') }}
    where is_active
        and activity_date < {{ lookback_start(27) }}
        and stitched_user_id in (select stitched_user_id from rewritten_days)
    group by stitched_user_id
    {% else %}
    select
        stitched_user_id,
        activity_date as active_date
    from user_days
    where 1 = 0
    {% endif %}

),

activity_windows as (

    -- Days active in the 28-day window [d-27, d] ending on each row's day.
    select
        rewritten_days.stitched_user_id,
        rewritten_days.activity_date,
        count(active_days.active_date) as days_active_28d
    from rewritten_days
    left join active_days
        on active_days.stitched_user_id = rewritten_days.stitched_user_id
        and active_days.active_date <= rewritten_days.activity_date
        and active_days.active_date
            >= cast({{ dbt.dateadd('day', -27, 'rewritten_days.activity_date') }} as date)
    group by rewritten_days.stitched_user_id, rewritten_days.activity_date

),

activity_history as (

    select
        stitched_user_id,
        activity_date,
        max(case when is_active then activity_date end) over (
            partition by stitched_user_id
            order by activity_date
            rows between unbounded preceding and current row
        ) as last_activity_date,
        max(case when is_active then activity_date end) over (
            partition by stitched_user_id
            order by activity_date
            rows between unbounded preceding and 1 preceding
        ) as previous_activity_date
    from user_days

),

final as (

    select
        rewritten_days.stitched_user_id,
        rewritten_days.activity_date as event_date,
        rewritten_days.sessions,
        rewritten_days.session_duration_seconds,
        rewritten_days.page_views,
        rewritten_days.unique_page_views,
        rewritten_days.likes,
        rewritten_days.shares,
        rewritten_days.comments,
        rewritten_days.searches,
        -- Content created = comments posted: the only user-generated content the
        -- tracking plan records.
        rewritten_days.comments as content_created,
        rewritten_days.video_completions,
        rewritten_days.engaged_seconds / 60.0 as engaged_minutes,
        least(
            rewritten_days.page_views * weights.page_views_weight
            + rewritten_days.engaged_seconds / 60.0 * weights.engaged_minutes_weight
            + rewritten_days.video_completions * weights.video_completions_weight
            + rewritten_days.likes * weights.likes_weight
            + rewritten_days.shares * weights.shares_weight
            + rewritten_days.comments * weights.comments_weight
            + rewritten_days.searches * weights.searches_weight,
            100
        ) as engagement_score,
        rewritten_days.is_active,
        activity_windows.days_active_28d,
        case
            when activity_windows.days_active_28d >= 20 then 'power'
            when activity_windows.days_active_28d >= 8 then 'core'
            when activity_windows.days_active_28d >= 1 then 'casual'
            else 'dormant'
        end as activity_level,
        coalesce(activity_history.last_activity_date, earlier_activity.active_date)
            as last_activity_date,
        {{ dbt.datediff(
            'coalesce(activity_history.previous_activity_date, earlier_activity.active_date)',
            'rewritten_days.activity_date',
            'day'
        ) }} as days_since_previous_activity
    from rewritten_days
    cross join weights
    inner join activity_windows
        on activity_windows.stitched_user_id = rewritten_days.stitched_user_id
        and activity_windows.activity_date = rewritten_days.activity_date
    inner join activity_history
        on activity_history.stitched_user_id = rewritten_days.stitched_user_id
        and activity_history.activity_date = rewritten_days.activity_date
    left join earlier_activity
        on earlier_activity.stitched_user_id = rewritten_days.stitched_user_id

)

select * from final
