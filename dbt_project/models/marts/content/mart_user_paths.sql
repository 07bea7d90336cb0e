{#- Bounds: a path is kept when at least `min_sessions` sessions took it that day, and only
    the `top_n` most taken per day and path type. -#}
{%- set min_sessions = 2 -%}
{%- set top_n = 100 -%}

{#- Incremental: the session days from the earliest changed event day on are recomputed
    (macros/incremental.sql); a path belongs to its session's day, and a session's page
    views are on or after that day. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["path_date >= {{ changed_from_date() }}"],
        on_schema_change='fail',
    )
}}

with

page_views as (

    select * from {{ ref('fct_page_views') }}
    {% if is_incremental() %}
    where view_date >= {{ changed_from_date() }}
    {% endif %}

),

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where event_date >= {{ changed_from_date() }}
    {% endif %}

),

sessions as (

    select * from {{ ref('fct_sessions') }}
    {% if is_incremental() %}
    where session_date >= {{ changed_from_date() }}
    {% endif %}

),

views as (

    -- A page is its path. Screen calls carry it in properties.path (their context has
    -- no page), so that is read when page_path is empty.
    select
        page_views.session_id,
        sessions.session_date,
        page_views.page_view_index,
        page_views.page_views_in_session,
        coalesce(
            page_views.page_path,
            {{ json_text('events.properties', 'path') }},
            '(not set)'
        ) as page
    from page_views
    inner join sessions on sessions.session_id = page_views.session_id
    left join events on events.message_id = page_views.page_view_id

),

steps as (

    select
        *,
        lead(page) over (partition by session_id order by page_view_index) as next_page
    from views

),

transitions as (

    -- Consecutive page views of a session (reloads of the same path included), on the
    -- session's day.
    select
        session_date as path_date,
        'transition' as path_type,
        page as step_1_path,
        next_page as step_2_path,
        cast(null as {{ dbt.type_string() }}) as step_3_path,
        count(*) as occurrences,
        count(distinct session_id) as sessions
    from steps
    where next_page is not null
    group by session_date, page, next_page

),

landing_paths as (

    -- Landing -> 2nd -> 3rd page view, of sessions with at least three page views.
    select
        first_view.session_date as path_date,
        'landing_3_step' as path_type,
        first_view.page as step_1_path,
        first_view.next_page as step_2_path,
        third_view.page as step_3_path,
        count(*) as occurrences,
        count(distinct first_view.session_id) as sessions
    from steps as first_view
    inner join steps as third_view
        on third_view.session_id = first_view.session_id
        and third_view.page_view_index = 3
    where first_view.page_view_index = 1
        and first_view.page_views_in_session >= 3
    group by first_view.session_date, first_view.page, first_view.next_page, third_view.page

),

paths as (

    select * from transitions
    union all
    select * from landing_paths

),

shared as (

    -- share_of_step_1: of all transitions out of step 1 that day (transitions), or of
    -- all 3+-view sessions landing on step 1 that day (landing paths).
    select
        *,
        cast(occurrences as double precision) / sum(occurrences) over (
            partition by path_date, path_type, step_1_path
        ) as share_of_step_1
    from paths

),

ranked as (

    select
        *,
        row_number() over (
            partition by path_date, path_type
            order by
                sessions desc, occurrences desc, step_1_path asc, step_2_path asc, step_3_path asc
        ) as path_rank
    from shared
    where sessions >= {{ min_sessions }}

),

final as (

    select
        {{ surrogate_key(['path_date', 'path_type', 'step_1_path', 'step_2_path', 'step_3_path']) }}
            as path_id,
        path_date,
        path_type,
        path_rank,
        step_1_path,
        step_2_path,
        step_3_path,
        occurrences,
        sessions,
        share_of_step_1
    from ranked
    where path_rank <= {{ top_n }}

)

select * from final
