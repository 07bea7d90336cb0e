with

latest_snapshot as (

    {{ latest_snapshot(source('app', 'content')) }}

),

renamed as (

    select
        content_id,
        content_type,
        title,
        author,
        fighters as fighters_json,
        weight_class,
        fight_event_id,
        published_at,
        starts_at,
        snapshot_at
    from latest_snapshot

)

select * from renamed
