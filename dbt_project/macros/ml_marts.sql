{#- Helpers of the ML marts (models/marts/ml), whose vocabulary is var('ml') in
    dbt_project.yml. -#}

{#- A SQL list of string literals (names from var('ml'), never user input). -#}
{% macro ml_quoted(values) -%}
    {%- for value in values | sort -%}
    '{{ value }}'{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- How many rows meet `condition`, as a bigint on both engines. -#}
{% macro ml_count(condition) -%}
    cast(sum(case when {{ condition }} then 1 else 0 end) as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- A relation for the body of a view: schema and name without the database. DuckDB keeps
    a view's text, and a database name in it (the file's) is not found when the file is
    attached under another name (tests/test_incremental.py attaches two builds). -#}
{% macro view_ref(name) -%}
    {{ ref(name).include(database=False) }}
{%- endmacro %}

{#- Content page views (a page or screen view with a content type) from `since` on (all
    with none), with the event's own content type (not the catalog's), the hour of the
    view, its time on page (fct_page_views; NULL when unknown) and whether it was
    engaged: time on page of at least var('ml').engaged_seconds, unknown counting as 0. -#}
{% macro ml_content_page_views(since=none) -%}
    select
        events.content_type,
        events.content_id,
        events.event_date,
        cast(extract(hour from events.event_time) as integer) as event_hour,
        page_views.time_on_page_seconds as time_on_page,
        case when coalesce(page_views.time_on_page_seconds, 0) >= {{ var('ml').engaged_seconds }}
            then 1 else 0 end as engaged
    from {{ ref('fct_events') }} as events
    left join {{ ref('fct_page_views') }} as page_views
        on page_views.page_view_id = events.message_id
        {%- if since is not none %}
        and page_views.view_date >= {{ since }}
        {%- endif %}
    where events.is_page_view and events.content_type is not null
    {%- if since is not none %}
        and events.event_date >= {{ since }}
    {%- endif %}
{%- endmacro %}

{#- mart_ml_kpis_daily's days whose views by content type may have changed with the
    catalog (mart_content_performance_daily takes an item's type from it): the days with
    a row of an item whose catalog type differs between the newest content snapshot and
    the snapshot the mart was last built with (`_content_snapshot_at`). Empty when the
    model is not incremental. -#}
{% macro ml_content_type_changed_days() -%}
    {%- if not execute or is_incremental() -%}
    (
        select distinct performance.activity_date
        from {{ ref('mart_content_performance_daily') }} as performance
        where performance.content_id in (
            select coalesce(newest.content_id, built.content_id)
            from {{ ref('stg_app__content') }} as newest
            full outer join (
                select content_id, content_type
                from {{ source('app', 'content') }}
                where snapshot_at = (select max(_content_snapshot_at) from {{ this }})
            ) as built
                on built.content_id = newest.content_id
            where newest.content_type is distinct from built.content_type
        )
    )
    {%- else -%}
    (select cast(null as date) where 1 = 0)
    {%- endif -%}
{%- endmacro %}

{#- The first day mart_ml_user_long_sessions rereads: the session stretches it rewrites
    (those ending on or after the look-back start, the day a new event could extend them
    from) may start earlier, and a stretch is recomputed from its first day. NULL when
    nothing changed. -#}
{% macro ml_long_sessions_read_from(gap_days) -%}
    (
        select case
            when min(built.first_day) < {{ lookback_start(gap_days) }} then min(built.first_day)
            else {{ lookback_start(gap_days) }}
        end
        from {{ this }} as built
        where built.last_day >= {{ lookback_start(gap_days) }}
    )
{%- endmacro %}
