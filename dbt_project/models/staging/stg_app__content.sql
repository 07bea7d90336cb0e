with

source as (

    select * from {{ source('app', 'content') }}

),

latest_snapshot as (

    -- Each ingest lands the whole catalog; the newest snapshot is the current state.
    select * from source
    where snapshot_at = (select max(snapshot_at) from source)

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
        snapshot_at
    from latest_snapshot

)

select * from renamed
