{#- docs/metrics.md "Trending": views on day d at least this many times the mean daily views of
    d-7..d-1 (missing days are 0), and at least this many views. -#}
{%- set trending_multiplier = 3 -%}
{%- set trending_min_views = 50 -%}
{%- set prior_days = 7 -%}
{#- Incremental: the days from the earliest changed event day on are recomputed, reading
    the 7 days before them (trending's prior views), and so are all the days of the
    items whose catalog entry changed (macros/incremental_windows.sql). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=[
            "activity_date >= {{ changed_from_date() }}"
            ~ " or content_id in {{ content_catalog_changed() }}"
        ],
        on_schema_change='fail',
    )
}}
{#- Incremental builds read the first page-view day from int_user_activity_daily: ref it
    while parsing, so that it is built first (a unit test, not incremental, needs no
    fixture for it). -#}
{%- if not execute -%}{%- do ref('int_user_activity_daily') -%}{%- endif %}

with

page_views as (

    select * from {{ ref('fct_page_views') }}
    {% if is_incremental() %}
    where view_date >= {{ lookback_start(prior_days) }}
        or content_id in {{ content_catalog_changed() }}
    {% endif %}

),

sessions as (

    -- The sessions of the page views read (a session may start days before a view)
    -- and those that landed on a rewritten day or item.
    select * from {{ ref('fct_sessions') }}
    {% if is_incremental() %}
    where ended_at >= cast({{ changed_from_date() }} as timestamp)
        or landing_content_id in {{ content_catalog_changed() }}
        or session_id in (
            select session_id from {{ ref('fct_page_views') }}
            where content_id in {{ content_catalog_changed() }}
        )
    {% endif %}

),

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where event_date >= {{ changed_from_date() }}
        or content_id in {{ content_catalog_changed() }}
    {% endif %}

),

content as (

    select * from {{ ref('stg_app__content') }}

),

content_views as (

    select
        page_views.content_id,
        page_views.view_date as activity_date,
        page_views.content_type,
        page_views.stitched_user_id,
        page_views.time_on_page_seconds,
        sessions.channel
    from page_views
    left join sessions on sessions.session_id = page_views.session_id
    where page_views.content_id is not null

),

views_daily as (

    select
        content_id,
        activity_date,
        max(content_type) as content_type,
        count(*) as views,
        count(distinct stitched_user_id) as unique_views,
        -- NULL time on page (last view of a session without heartbeats) is unknown, not 0.
        count(time_on_page_seconds) as views_with_time,
        avg(time_on_page_seconds) as avg_engaged_seconds,
        count(case when channel = 'search' then 1 end) as views_from_search,
        count(case when channel = 'social' then 1 end) as views_from_social,
        count(case when channel = 'campaign' then 1 end) as views_from_campaign,
        count(case when channel = 'referral' then 1 end) as views_from_referral,
        count(case when channel = 'direct' then 1 end) as views_from_direct
    from content_views
    group by content_id, activity_date

),

landings_daily as (

    -- Sessions that landed on the item, on the session's day.
    select
        landing_content_id as content_id,
        session_date as activity_date,
        max(landing_content_type) as content_type,
        count(*) as landing_sessions,
        count(case when is_bounce then 1 end) as bounced_sessions
    from sessions
    where landing_content_id is not null
    group by landing_content_id, session_date

),

interactions_daily as (

    select
        content_id,
        event_date as activity_date,
        max(content_type) as content_type,
        count(case when event_name = 'Content Shared' then 1 end) as shares,
        count(case when event_name = 'Content Liked' then 1 end) as likes,
        count(case when event_name = 'Comment Posted' then 1 end) as comments,
        count(case when event_name = 'Video Playback Started' then 1 end) as video_starts,
        count(case when event_name = 'Video Content Completed' then 1 end) as video_completions,
        count(case when event_name = 'Search Result Clicked' then 1 end) as search_clicks
    from events
    where event_type = 'track'
        and content_id is not null
        and event_name in (
            'Content Shared',
            'Content Liked',
            'Comment Posted',
            'Video Playback Started',
            'Video Content Completed',
            'Search Result Clicked'
        )
    group by content_id, event_date

),

activity_days as (

    select
        content_id,
        activity_date,
        content_type
    from views_daily
    union all
    select
        content_id,
        activity_date,
        content_type
    from landings_daily
    union all
    select
        content_id,
        activity_date,
        content_type
    from interactions_daily

),

content_days as (

    select
        content_id,
        activity_date,
        max(content_type) as tracked_content_type
    from activity_days
    {% if is_incremental() %}
    -- The rewritten rows (views_daily also holds the look-back days).
    where activity_date >= {{ changed_from_date() }}
        or content_id in {{ content_catalog_changed() }}
    {% endif %}
    group by content_id, activity_date

),

prior_views as (

    -- Views of the 7 days before each activity day. Days without views have no row
    -- here, so they add 0 to the sum: the mean divides by 7 whatever is missing.
    select
        content_days.content_id,
        content_days.activity_date,
        cast(sum(views_daily.views) as {{ dbt.type_bigint() }}) as prior_views
    from content_days
    inner join views_daily
        on views_daily.content_id = content_days.content_id
        and views_daily.activity_date
            >= cast({{ dbt.dateadd('day', -prior_days, 'content_days.activity_date') }} as date)
        and views_daily.activity_date
            < content_days.activity_date
    group by content_days.content_id, content_days.activity_date

),

data_start as (

    -- The first day with a page view (any page, content or not).
    {% if is_incremental() %}
    select min(activity_date) as first_view_date
    from {{ ref('int_user_activity_daily') }}
    where page_views > 0
    {% else %}
    select min(view_date) as first_view_date from page_views
    {% endif %}

),

joined as (

    select
        content_days.content_id,
        content_days.activity_date,
        coalesce(content.content_type, content_days.tracked_content_type) as content_type,
        content.title,
        content.content_id is not null as is_in_catalog,
        coalesce(views_daily.views, 0) as views,
        coalesce(views_daily.unique_views, 0) as unique_views,
        coalesce(views_daily.views_with_time, 0) as views_with_time,
        views_daily.avg_engaged_seconds,
        coalesce(landings_daily.landing_sessions, 0) as landing_sessions,
        coalesce(landings_daily.bounced_sessions, 0) as bounced_sessions,
        coalesce(interactions_daily.shares, 0) as shares,
        coalesce(interactions_daily.likes, 0) as likes,
        coalesce(interactions_daily.comments, 0) as comments,
        coalesce(interactions_daily.video_starts, 0) as video_starts,
        coalesce(interactions_daily.video_completions, 0) as video_completions,
        coalesce(interactions_daily.search_clicks, 0) as search_clicks,
        coalesce(views_daily.views_from_search, 0) as views_from_search,
        coalesce(views_daily.views_from_social, 0) as views_from_social,
        coalesce(views_daily.views_from_campaign, 0) as views_from_campaign,
        coalesce(views_daily.views_from_referral, 0) as views_from_referral,
        coalesce(views_daily.views_from_direct, 0) as views_from_direct,
        coalesce(prior_views.prior_views, 0) as prior_7d_views,
        cast({{ dbt.dateadd('day', -prior_days, 'content_days.activity_date') }} as date)
            >= data_start.first_view_date as has_full_prior_window
    from content_days
    cross join data_start
    left join content on content.content_id = content_days.content_id
    left join views_daily
        on views_daily.content_id = content_days.content_id
        and views_daily.activity_date = content_days.activity_date
    left join landings_daily
        on landings_daily.content_id = content_days.content_id
        and landings_daily.activity_date = content_days.activity_date
    left join interactions_daily
        on interactions_daily.content_id = content_days.content_id
        and interactions_daily.activity_date = content_days.activity_date
    left join prior_views
        on prior_views.content_id = content_days.content_id
        and prior_views.activity_date = content_days.activity_date

),

rates as (

    -- double precision, not dbt.type_float(): that renders `float`, which is a 4-byte
    -- REAL on DuckDB.
    select
        *,
        cast(bounced_sessions as double precision)
            / nullif(landing_sessions, 0) as bounce_rate,
        cast(video_completions as double precision)
            / nullif(video_starts, 0) as video_completion_rate,
        -- Known appearances only: the tracking plan does not say which items a search
        -- listed, so an appearance is a `Search Result Clicked` for the item.
        search_clicks as search_appearances,
        cast(search_clicks as double precision)
            / nullif(search_clicks, 0) as search_ctr,
        cast(prior_7d_views as double precision) / {{ prior_days }}
            as mean_prior_daily_views
    from joined

),

scored as (

    select
        *,
        -- Integer form of views >= 3 x (prior_7d_views / 7), exact at the boundary.
        views >= {{ trending_min_views }}
            and {{ prior_days }} * views >= {{ trending_multiplier }} * prior_7d_views
            as is_trending,
        (views + 1) / (mean_prior_daily_views + 1) as trending_score,
        -- quality_score components, each in [0, 1]; NULL when it does not apply.
        case when avg_engaged_seconds is not null
            then least(avg_engaged_seconds / 120.0, 1.0) end as engaged_component,
        1.0 - bounce_rate as retention_component,
        -- Guarded: PostgreSQL's least() skips NULLs, so least(NULL, 1) would be 1.
        case when video_completion_rate is not null
            then least(video_completion_rate, 1.0) end as completion_component,
        case when views > 0
            then least((likes + shares + comments) / (views * 0.2), 1.0) end
            as interaction_component
    from rates

),

quality as (

    -- Weighted mean of the components that apply (weights 0.35 / 0.25 / 0.25 / 0.15,
    -- renormalized over the non-NULL ones), scaled to 0-100; NULL without views.
    select
        *,
        case when views > 0 then cast(round(cast(
            100 * (
                0.35 * coalesce(engaged_component, 0)
                + 0.25 * coalesce(retention_component, 0)
                + 0.25 * coalesce(interaction_component, 0)
                + 0.15 * coalesce(completion_component, 0)
            ) / (
                case when engaged_component is not null then 0.35 else 0 end
                + case when retention_component is not null then 0.25 else 0 end
                + case when interaction_component is not null then 0.25 else 0 end
                + case when completion_component is not null then 0.15 else 0 end
            ) as {{ dbt.type_numeric() }}),
            1
        ) as double precision) end as quality_score
    from scored

),

final as (

    select
        {{ surrogate_key(['content_id', 'activity_date']) }} as content_day_id,
        content_id,
        activity_date,
        content_type,
        title,
        is_in_catalog,
        views,
        unique_views,
        views_with_time,
        avg_engaged_seconds,
        landing_sessions,
        bounced_sessions,
        bounce_rate,
        shares,
        likes,
        comments,
        video_starts,
        video_completions,
        video_completion_rate,
        search_appearances,
        search_clicks,
        search_ctr,
        views_from_search,
        views_from_social,
        views_from_campaign,
        views_from_referral,
        views_from_direct,
        prior_7d_views,
        mean_prior_daily_views,
        has_full_prior_window,
        is_trending,
        trending_score,
        quality_score
    from quality

)

select * from final
