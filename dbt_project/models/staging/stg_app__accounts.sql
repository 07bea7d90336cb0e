with

source as (

    select * from {{ source('app', 'accounts') }}

),

latest_snapshot as (

    -- Each ingest lands all accounts; the newest snapshot is the current state.
    select * from source
    where snapshot_at = (select max(snapshot_at) from source)

),

renamed as (

    select
        user_id,
        country,
        plan,
        created_at,
        snapshot_at
    from latest_snapshot

)

select * from renamed
