{#- Co-viewing counts per pair of content items, from int_ml_viewer_items: `co_viewers`
    over all views, `training_co_viewers` over the views the hit-rate evaluation trains
    on. The diagonal (an item with itself) holds the item's viewers. Off the diagonal
    only the pairs that can reach an item's top var('ml').top_n by cosine similarity
    (over all views, or over the training views) are kept: rank() keeps every pair tied
    with the last place, whose order by id the reader settles.

    A view, computed when read: every new viewer of an item changes the cosine of each
    of its pairs and so the ranking of every item viewed with it, so a table would be
    rebuilt whole by every micro-batch; the recommendations read it once per scoring
    run. Its data tests run with the daily full check (macros/test_scope.sql). -#}
{{ config(materialized='view') }}
{%- set top_n = var('ml').top_n -%}

with

pairs as (

    select
        stitched_user_id,
        content_id,
        in_training
    from {{ view_ref('int_ml_viewer_items') }}

),

co as (

    select
        a.content_id,
        b.content_id as other_id,
        count(*) as co_viewers,
        cast(sum(a.in_training * b.in_training) as {{ dbt.type_bigint() }})
            as training_co_viewers
    from pairs as a
    inner join pairs as b on b.stitched_user_id = a.stitched_user_id
    group by a.content_id, b.content_id

),

item_viewers as (

    select
        content_id,
        cast(co_viewers as {{ type_double() }}) as viewers,
        cast(training_co_viewers as {{ type_double() }}) as training_viewers
    from co
    where other_id = content_id

),

ranked as (

    -- The cosine is computed in doubles, as the reader computes it.
    select
        co.*,
        rank() over (
            partition by co.content_id
            order by cast(co.co_viewers as {{ type_double() }})
                / sqrt(one.viewers * other.viewers) desc
        ) as place,
        rank() over (
            partition by co.content_id
            order by coalesce(
                cast(co.training_co_viewers as {{ type_double() }})
                    / sqrt(nullif(one.training_viewers * other.training_viewers, 0)),
                0
            ) desc
        ) as training_place
    from co
    inner join item_viewers as one on one.content_id = co.content_id
    inner join item_viewers as other on other.content_id = co.other_id
    where co.other_id <> co.content_id

),

final as (

    select
        content_id,
        other_id,
        co_viewers,
        training_co_viewers
    from ranked
    where place <= {{ top_n }} or (training_co_viewers > 0 and training_place <= {{ top_n }})

    union all

    select
        content_id,
        other_id,
        co_viewers,
        training_co_viewers
    from co
    where other_id = content_id

)

select * from final
