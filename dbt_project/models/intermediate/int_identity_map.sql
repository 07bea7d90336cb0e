{#- Rebuilt whole each run (identify and alias calls are a small share of events), but
    a device whose user is unchanged keeps its `_built_at`: only re-stitched devices read
    as changed downstream (macros/incremental.sql), with the user they had before. -#}
{%- set built = adapter.get_relation(this.database, this.schema, this.identifier) -%}
{%- set built_columns = adapter.get_columns_in_relation(built) | map(attribute='name') | list
    if built else [] -%}
{%- set previous = built if '_built_at' in built_columns and not flags.FULL_REFRESH else none -%}

with

events as (

    select * from {{ ref('stg_tracking__events') }}

),

device_logins as (

    -- Any event carrying both ids ties the device to the user (identify included).
    select device_id, user_id, event_time, message_id
    from events
    where user_id is not null and anonymous_id is not null and event_type <> 'alias'

    union all

    -- alias: previousId (an anonymous id) now belongs to userId.
    select previous_id as device_id, user_id, event_time, message_id
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

    {% if previous %}
    select
        stitched.device_id,
        stitched.user_id,
        case
            when previous.user_id = stitched.user_id then previous.previous_user_id
            else previous.user_id
        end as previous_user_id,
        case
            when previous.user_id = stitched.user_id then previous._built_at
            else {{ build_stamp() }}
        end as _built_at
    from stitched
    left join {{ previous }} as previous on previous.device_id = stitched.device_id
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
