{#- Each user's content items, from their content page views in order with
    consecutive repeats of one item collapsed: whether the item is among the views the
    recommendations' hit-rate evaluation trains on (all but the held-out last view of a
    user with more than one), and whether it is the user's last view (held out) or the
    one before it. Ties in time are ordered by content id in code point order (the
    `"C"` collation, Python's `str` order).

    Incremental: the users whose events changed, or whose devices were stitched away
    from them (changed_users()), are rewritten from all their content views: which
    view is last depends on every view. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["stitched_user_id in {{ changed_users() }}"],
        on_schema_change='fail',
    )
}}
{#- The rewrite set reads fct_events and int_identity_map; called here too, so that dbt
    records the dependency (the incremental branch alone is not rendered while dbt
    parses). -#}
{%- do changed_users() %}

with

views as (

    select
        stitched_user_id,
        content_id,
        event_time
    from {{ ref('fct_events') }}
    where is_page_view and content_id is not null and stitched_user_id is not null
    {% if is_incremental() %}
        and stitched_user_id in {{ changed_users() }}
    {% endif %}

),

sequenced as (

    select
        stitched_user_id,
        content_id,
        event_time,
        lag(content_id) over (
            -- Code point order on both engines (PostgreSQL names the collation "C").
            partition by stitched_user_id
            order by event_time, content_id collate "C"  -- noqa: RF06
        ) as previous_content_id
    from views

),

collapsed as (

    -- `from_end` = 1 is the last view.
    select
        stitched_user_id,
        content_id,
        row_number() over (
            partition by stitched_user_id
            order by event_time desc, content_id collate "C" desc  -- noqa: RF06
        ) as from_end,
        count(*) over (partition by stitched_user_id) as user_views
    from sequenced
    where previous_content_id is null or previous_content_id <> content_id

),

final as (

    select
        stitched_user_id,
        content_id,
        max(case when from_end > 1 or user_views = 1 then 1 else 0 end) as in_training,
        max(case when from_end = 1 and user_views > 1 then 1 else 0 end) as is_held_out,
        max(case when from_end = 2 then 1 else 0 end) as is_before_held_out
    from collapsed
    group by stitched_user_id, content_id

)

select * from final
