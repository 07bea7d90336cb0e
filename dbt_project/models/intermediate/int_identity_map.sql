{#- Computed from every identify and alias call each run (a small share of events), but
    only devices whose user changed are written, stamped `_built_at` with the user they
    had before: downstream, only re-stitched devices read as changed
    (macros/incremental.sql). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='device_id',
        on_schema_change='fail',
    )
}}

with

-- Not materialized: read three times, each for a few columns of some rows; a
-- materialized copy would hold every column of staging.
events as not materialized (

    select * from {{ ref('stg_tracking__events') }}

),

device_logins as (

    -- Any event carrying both ids ties the device to the user (identify included).
    select
        device_id,
        user_id,
        event_time,
        message_id
    from events
    where user_id is not null and anonymous_id is not null and event_type <> 'alias'

    union all

    -- alias: previousId (an anonymous id) now belongs to userId.
    select
        previous_id as device_id,
        user_id,
        event_time,
        message_id
    from events
    where event_type = 'alias' and previous_id is not null and user_id is not null

),

latest_login as (

    select
        device_id,
        user_id,
        row_number() over (
            partition by device_id order by event_time desc, message_id desc
        ) as recency_rank
    from device_logins

),

user_aliases as (

    -- alias from one user id to another: the newest target wins.
    select
        previous_id as old_user_id,
        user_id as new_user_id,
        row_number() over (
            partition by previous_id order by event_time desc, message_id desc
        ) as recency_rank
    from events
    where event_type = 'alias' and previous_id is not null and user_id is not null

),

stitched as (

    select
        latest_login.device_id,
        coalesce(user_aliases.new_user_id, latest_login.user_id) as user_id
    from latest_login
    left join user_aliases
        on user_aliases.old_user_id = latest_login.user_id
        and user_aliases.recency_rank = 1
    where latest_login.recency_rank = 1

),

final as (

    {% if is_incremental() %}
    select
        stitched.device_id,
        stitched.user_id,
        previous.user_id as previous_user_id,
        {{ build_stamp() }} as _built_at
    from stitched
    left join {{ this }} as previous on previous.device_id = stitched.device_id
    where previous.user_id is distinct from stitched.user_id
    {% else %}
    select
        device_id,
        user_id,
        cast(null as {{ dbt.type_string() }}) as previous_user_id,
        {{ build_stamp() }} as _built_at
    from stitched
    {% endif %}

)

select * from final
