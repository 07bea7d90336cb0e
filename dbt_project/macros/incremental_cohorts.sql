{#- Rewrite ranges of the cohort, funnel and business marts, on top of the change
    tracking of macros/incremental.sql (their predicates are rendered by replace_where). -#}

{#- Whole days a funnel's conversion window can reach back: an event on day x can
    complete or void attempts that entered from day x - funnel_lookback_days() on. -#}
{% macro funnel_lookback_days() -%}
    {%- set seconds = funnel_definitions() | map(attribute='window_seconds') | max -%}
    {{- return(((seconds + 86399) // 86400) | int) -}}
{%- endmacro %}

{#- The first entry day fct_funnel_progress rewrites (NULL: nothing changed). -#}
{% macro funnel_rewrite_from() -%}
    cast({{ dbt.dateadd('day', -funnel_lookback_days(), changed_from_date()) }} as date)
{%- endmacro %}

{#- The first entry day mart_funnel_daily rewrites: fct_funnel_progress's first rewritten
    day, or the first day still incomplete (its window had not ended by the end of the
    data: a later end may complete it), whichever is earlier. NULL when nothing changed:
    the end of the data moves only with new events. -#}
{% macro funnel_daily_rewrite_from() -%}
    (
        select case
            when min(built.entry_date) < {{ funnel_rewrite_from() }} then min(built.entry_date)
            else {{ funnel_rewrite_from() }}
        end
        from {{ this }} as built
        where not built.is_window_complete
    )
{%- endmacro %}

{#- The subscription events of an events relation, with the state each sets
    (int_business_subscriptions_daily). Ends in a where clause a caller may extend. -#}
{% macro business_subscription_events(events) -%}
    select
        stitched_user_id,
        event_date,
        event_time,
        message_id,
        event_name = 'Subscription Started' as is_start,
        -- docs/metrics.md: MRR counts a monthly plan at its price and an annual plan at
        -- price / 12 (the plan and price are on the Subscription Started event).
        case
            when event_name <> 'Subscription Started' then null
            when lower({{ json_text('properties', 'plan') }}) = 'annual'
                then coalesce(revenue_usd, 0) / 12.0
            else coalesce(revenue_usd, 0)
        end as monthly_price_usd
    from {{ events }}
    where event_name in ('Subscription Started', 'Subscription Cancelled')
{%- endmacro %}

{#- The first day a day-keyed model rewrites: the earliest changed event day, or the day
    after the last one it has built when that is earlier (days without events between
    the two get rows too). NULL when nothing changed. -#}
{% macro day_rewrite_from(day_column) -%}
    (
        select case
            when {{ dbt.dateadd('day', 1, 'max(built.' ~ day_column ~ ')') }} < {{ changed_from_date() }}
                then cast({{ dbt.dateadd('day', 1, 'max(built.' ~ day_column ~ ')') }} as date)
            else {{ changed_from_date() }}
        end
        from {{ this }} as built
    )
{%- endmacro %}

{#- mart_cohort_retention ------------------------------------------------------------ -#}

{#- dim_users columns set by the user's events alone (their first session): a breakdown by
    them changes only for users whose first events changed, which the incremental matrix
    relies on. -#}
{% macro cohort_event_breakdowns() -%}
    {{ return([
        'first_touch_source', 'first_touch_medium', 'first_touch_campaign',
        'first_touch_channel', 'first_touch_landing_page', 'first_device_type',
    ]) }}
{%- endmacro %}

{#- The first day whose periods the matrix rewrites (NULL: nothing changed). -#}
{% macro cohort_rewrite_from() -%}
    {{ day_rewrite_from('period_start') }}
{%- endmacro %}

{#- N: the number of periods of `grain_column`'s grain from the cohort's period to a later
    one, both given by their first day. -#}
{% macro cohort_period_number(grain_column, cohort_start, period_start) -%}
    cast(case {{ grain_column }}
        when 'day' then {{ dbt.datediff(cohort_start, period_start, 'day') }}
        when 'week' then ({{ dbt.datediff(cohort_start, period_start, 'day') }}) / 7
        when 'month' then {{ dbt.datediff(cohort_start, period_start, 'month') }}
    end as {{ dbt.type_bigint() }})
{%- endmacro %}
