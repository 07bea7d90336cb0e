{#- Calendar periods of the retention marts (docs/metrics.md "Retention (cohorts)"): a UTC
    day, an ISO week (Monday start) or a calendar month, as DATEs on every engine. -#}

{% macro _check_cohort_grain(grain) -%}
    {%- if grain not in ('day', 'week', 'month') -%}
        {{ exceptions.raise_compiler_error(
            "period grain must be 'day', 'week' or 'month', got '" ~ grain ~ "'") }}
    {%- endif -%}
{%- endmacro %}

{#- First day of the period containing a date. The date is cast to a timestamp first:
    PostgreSQL would otherwise pick date_trunc(text, timestamptz) and truncate in the
    session's time zone. DuckDB and PostgreSQL both start `week` on Monday (ISO). -#}
{% macro cohort_period_start(grain, date) -%}
    {{- _check_cohort_grain(grain) -}}
    cast({{ dbt.date_trunc(grain, 'cast(' ~ date ~ ' as timestamp)') }} as date)
{%- endmacro %}

{#- Last day of the period that starts on `period_start`. -#}
{% macro cohort_period_end(grain, period_start) -%}
    {{- _check_cohort_grain(grain) -}}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd(grain, 1, period_start)) }} as date)
{%- endmacro %}
