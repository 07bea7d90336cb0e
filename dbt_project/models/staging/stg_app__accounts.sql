with

latest_snapshot as (

    {{ latest_snapshot(source('app', 'accounts')) }}

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
