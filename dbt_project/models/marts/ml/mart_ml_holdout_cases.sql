{#- The recommendations' hit-rate evaluation cases: per pair of a user's item before
    the held-out last view and the held-out item, the number of users with that pair
    (int_ml_viewer_items).

    A view, computed when read, like mart_ml_co_viewing: a count over every user's
    last views, which the scoring run reads once. -#}
{{ config(materialized='view') }}

with

held_out as (

    select
        stitched_user_id,
        content_id
    from {{ view_ref('int_ml_viewer_items') }}
    where is_held_out = 1

),

before_held_out as (

    select
        stitched_user_id,
        content_id
    from {{ view_ref('int_ml_viewer_items') }}
    where is_before_held_out = 1

),

final as (

    select
        before_held_out.content_id as prev_id,
        held_out.content_id as held_id,
        count(*) as users
    from held_out
    inner join before_held_out
        on before_held_out.stitched_user_id = held_out.stitched_user_id
    group by before_held_out.content_id, held_out.content_id

)

select * from final
