{#- What changed since the last successful build, so that every incremental model
    rewrites only what new events can alter (docs/incremental.md).

    Rows of the change-carrying models (stg_tracking__events, int_events_sessionized,
    int_identity_map, fct_events) are stamped `_built_at` with the build's stamp. A build
    that succeeds as a whole records its stamp in `ringside_build_manifest` (on-run-end);
    the next build treats rows stamped after the newest recorded stamp as changed. A
    failed build records nothing, so the next one redoes its window: reruns are
    idempotent and a failure loses nothing. The manifest lives inside the warehouse, so
    each database (a test's, a second DuckDB file) tracks its own state.

    Snowplow's dbt packages keep the same kind of manifest (their incremental manifest
    and sessions lifecycle manifest). -#}

{% macro build_stamp() -%}
    cast('{{ build_arg("build_stamp", run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f")) }}' as timestamp)
{%- endmacro %}

{% macro build_manifest() -%}
    {{ target.schema }}.ringside_build_manifest
{%- endmacro %}

{% macro create_build_manifest() -%}
    create table if not exists {{ build_manifest() }} (
        build_stamp timestamp not null,
        recorded_at timestamp not null
    )
{%- endmacro %}

{#- on-run-end: record the build only when the whole project was built without an error
    or a failing test. A partial run (`--select`) must not record: models it skipped
    have not consumed the changes yet. Dagster passes record_build=true for its full
    builds (dagster-dbt may name the selection explicitly). -#}
{% macro record_build(results) -%}
    {%- set failed = results | selectattr('status', 'in', ['error', 'fail', 'runtime error']) | list -%}
    {%- set whole = var('record_build', false) or not invocation_args_dict.get('select') -%}
    {%- if execute and flags.WHICH in ('build', 'run') and whole and not failed -%}
        insert into {{ build_manifest() }} (build_stamp, recorded_at)
        values ({{ build_stamp() }}, {{ dbt.current_timestamp() }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Rows stamped after this are changed. The var `changed_since` overrides it (a
    backfill: '1970-01-01' treats every row as changed). -#}
{% macro changed_since() -%}
    {%- if var('changed_since', none) -%}
        cast('{{ var("changed_since") }}' as timestamp)
    {%- else -%}
        coalesce(
            (select max(build_stamp) from {{ build_manifest() }}),
            cast('1970-01-01' as timestamp)
        )
    {%- endif -%}
{%- endmacro %}

{#- The three macros below call ref() on fct_events / int_identity_map while dbt parses
    (execute is false), so a model using them depends on those tables. When a model is
    not incremental (a first or full build, a unit test) they render NULL / an empty set
    and need no table at all. -#}

{#- The earliest event day with a changed fct_events row (NULL: nothing changed): day-keyed
    models rewrite their days from here on and read their look-back before it. -#}
{% macro changed_from_date() -%}
    {%- if not execute or is_incremental() -%}
    (select min(event_date) from {{ ref('fct_events') }} where _built_at > {{ changed_since() }})
    {%- else -%}
    cast(null as date)
    {%- endif -%}
{%- endmacro %}

{#- Devices with a changed fct_events row: session-level models rewrite these devices. -#}
{% macro changed_devices() -%}
    {%- if not execute or is_incremental() -%}
    (select distinct device_id from {{ ref('fct_events') }} where _built_at > {{ changed_since() }})
    {%- else -%}
    (select cast(null as {{ dbt.type_string() }}) where 1 = 0)
    {%- endif -%}
{%- endmacro %}

{#- Stitched users whose events changed, and the ids that devices were stitched to before
    a login moved them (those users lose events, or vanish): user-level models rewrite
    these users. -#}
{% macro changed_users() -%}
    {%- if not execute or is_incremental() -%}
    (
        select stitched_user_id from {{ ref('fct_events') }}
        where _built_at > {{ changed_since() }}
        union
        select coalesce(previous_user_id, device_id) from {{ ref('int_identity_map') }}
        where _built_at > {{ changed_since() }}
    )
    {%- else -%}
    (select cast(null as {{ dbt.type_string() }}) where 1 = 0)
    {%- endif -%}
{%- endmacro %}

{#- incremental_strategy='replace_where' (dbt-databricks has a strategy of this name):
    delete the target rows its incremental_predicates select, then insert the new rows.
    Unlike delete+insert (which deletes only keys present in the new rows), a row whose
    key the new computation no longer produces is removed too: a user's first day that
    moved earlier, a session merged into another. Models state the predicate as the range
    they rewrite, as Jinja text rendered when the model runs:
    `incremental_predicates=["activity_date >= {{ changed_from_date() }}"]` (dbt captures
    config() at parse time, when ref() would still name the model itself). With a
    `unique_key`, target rows whose key a new row has are deleted too: rows outside the
    range that the model rewrites one by one. -#}
{% macro get_incremental_replace_where_sql(arg_dict) -%}
    {%- set predicates = [] -%}
    {%- for predicate in arg_dict['incremental_predicates'] or [] -%}
        {%- do predicates.append(render(predicate)) -%}
    {%- endfor -%}
    {%- if not predicates -%}
        {{ exceptions.raise_compiler_error(
            "replace_where needs incremental_predicates naming the rows it rewrites") }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    delete from {{ arg_dict['target_relation'] }}
    where ({{ predicates | join(' and ') }})
    {%- if unique_key %}
        or {{ unique_key }} in (select {{ unique_key }} from {{ arg_dict['temp_relation'] }})
    {%- endif %};
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
