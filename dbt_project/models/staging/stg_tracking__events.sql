{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
    )
}}

with

{%- set event_files = build_arg('event_files') if is_incremental() else none %}
source as (

    {% if event_files is not none and target.type == 'duckdb' %}
    -- The landed files this database has not read yet (Dagster passes them): same
    -- columns as the source, which reads every landed file.
    {% if event_files | length == 0 %}
    select * from {{ source('tracking', 'events') }} where 1 = 0
    {% else %}
    select * from read_parquet(
        [{% for file in event_files %}'{{ file | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %}],
        hive_partitioning = true, hive_types_autocast = false, hive_types = {'event_date': DATE}
    )
    {% endif %}
    {% else %}
    select * from {{ source('tracking', 'events') }}
    {% if is_incremental() %}
    where {{ event_window_filter('event_date') }}
    {% endif %}
    {% endif %}

),

first_copies as (

    -- messageId is the idempotency key (docs/events.md): the first landed copy wins, and an
    -- incremental run never re-inserts a message_id that is already built.
    select
        *,
        row_number() over (
            partition by message_id
            order by received_at, ingested_at, source_ref
        ) as copy_number
    from source

),

renamed as (

    select
        -- ids
        message_id,
        anonymous_id,
        user_id,
        previous_id,
        coalesce(anonymous_id, 'user:' || user_id) as device_id,
        session_id as client_session_id,

        -- what happened
        type as event_type,
        event as event_name,
        name as page_name,
        type in ('page', 'screen') as is_page_view,
        {{ json_text('properties', 'content_type') }} as content_type,
        {{ json_text('properties', 'content_id') }} as content_id,

        -- page and campaign
        page_url,
        -- App screens carry no context.page; their SDKs put the path in properties.
        coalesce(page_path, {{ json_text('properties', 'path') }}) as page_path,
        page_referrer,
        page_title,
        page_search,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_content,

        -- device and place (enriched at ingestion; ip already anonymized)
        ip as ip_anonymized,
        user_agent,
        -- Server-side SDKs (Segment's and RudderStack's Python libraries, curl) send no
        -- user agent: 'unknown' keeps such events in every device breakdown instead of
        -- leaving a NULL that no slice can name.
        coalesce(device_type, 'unknown') as device_type,
        browser,
        os,
        country,
        city,
        locale,
        library_name,
        library_version,
        consent_analytics,

        -- payloads (JSON text)
        properties,
        traits,
        context,

        -- times (UTC)
        event_time,
        cast(event_date as date) as event_date,
        original_timestamp,
        sent_at,
        received_at,

        -- lineage
        source as ingest_source,
        source_ref as ingest_source_ref,
        ingested_at,
        -- when this build staged the row: what downstream models read as "new"
        -- (macros/incremental.sql)
        {{ build_stamp() }} as _built_at

    from first_copies
    where copy_number = 1
    {% if is_incremental() %}
        and not exists (
            select 1 from {{ this }} as built
            where built.message_id = first_copies.message_id
        )
    {% endif %}

)

select * from renamed
