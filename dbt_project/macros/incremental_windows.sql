{#- Look-back windows and rewrite sets of the engagement, content, acquisition and
    experiment marts and of dim_users, on top of the change tracking of
    macros/incremental.sql (changed_from_date, changed_users).

    A day-keyed mart rewrites its days from changed_from_date() on and reads its inputs
    from `lookback_start(N)`, N days earlier, when a rewritten day depends on the N days
    before it (MAU: 27, trending: 7). Models whose rows also depend on an app snapshot or
    a seed rewrite, besides, the rows that no longer agree with it.

    Like the macros of incremental.sql, the rewrite sets call ref() while dbt parses (a
    model using them depends on what they read), and are an empty set when the model is
    not incremental (a first or full build, a unit test). replace_where renders them in
    `incremental_predicates` when the model runs; a model that otherwise reads them only
    in its incremental branch calls them once outside it, so that dbt records the
    dependency. -#}

{#- The first day a model reads: `days` days before the earliest changed event day
    (NULL when nothing changed, so nothing is read). -#}
{% macro lookback_start(days) -%}
    cast({{ dbt.dateadd('day', -days, changed_from_date()) }} as date)
{%- endmacro %}

{#- An empty set of ids, for a model that is not incremental. -#}
{% macro _no_ids() -%}
    (select cast(null as {{ dbt.type_string() }}) where 1 = 0)
{%- endmacro %}

{#- dim_users' rewrite set: users whose events changed, or whose devices were re-stitched
    away from them (changed_users()), and users whose row no longer matches the newest
    accounts snapshot (a plan, country or creation time changed, an account appeared or
    went away: account_created_at is NULL exactly when the row was built without an
    account). `_account_country` keeps the snapshot's country the row was built with,
    since `country` falls back to the first session's. -#}
{% macro dim_users_to_rewrite() -%}
    {%- if not execute or is_incremental() -%}
    (
        select stitched_user_id from {{ changed_users() }} as changed_users
        union
        select built.stitched_user_id
        from {{ this }} as built
        left join {{ ref('stg_app__accounts') }} as accounts
            on accounts.user_id = built.stitched_user_id
        where built.account_created_at is distinct from accounts.created_at
            or built._account_country is distinct from accounts.country
            or built.plan is distinct from coalesce(
                accounts.plan, case when built.is_identified then 'free' end
            )
    )
    {%- else -%}
    {{ _no_ids() }}
    {%- endif -%}
{%- endmacro %}

{#- Content items whose catalog entry (newest content snapshot) no longer matches the
    title, content type or is_in_catalog that mart_content_performance_daily holds for
    them: all their days are rewritten. -#}
{% macro content_catalog_changed() -%}
    {%- if not execute or is_incremental() -%}
    (
        select distinct built.content_id
        from {{ this }} as built
        left join {{ ref('stg_app__content') }} as content
            on content.content_id = built.content_id
        where built.is_in_catalog <> (content.content_id is not null)
            or (
                content.content_id is not null
                and (
                    built.title is distinct from content.title
                    or built.content_type is distinct from content.content_type
                )
            )
    )
    {%- else -%}
    {{ _no_ids() }}
    {%- endif -%}
{%- endmacro %}

{#- int_experiment_exposures' rewrite set: users whose events changed (changed_users()),
    and users with an exposure whose goal event or window no longer matches the
    `experiments` seed (an experiment configured, changed or removed since the row was
    built). -#}
{% macro experiment_users_to_rewrite() -%}
    {%- if not execute or is_incremental() -%}
    (
        select stitched_user_id from {{ changed_users() }} as changed_users
        union
        select built.stitched_user_id
        from {{ this }} as built
        left join {{ ref('experiments') }} as experiments
            on experiments.experiment_id = built.experiment_id
        where built.goal_event is distinct from experiments.goal_event
            or built.window_days is distinct from experiments.window_days
    )
    {%- else -%}
    {{ _no_ids() }}
    {%- endif -%}
{%- endmacro %}
