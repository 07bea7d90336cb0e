{#- Numbers read from JSON properties. Clients send what they like ("seconds": "ten",
    "position": 1e10, "revenue": "free"); a plain cast would fail on one such event and
    with it every build. These cast only text that is a plain number of the expected
    shape and give NULL otherwise: the event still counts, without that number. The
    same patterns on both engines, so DuckDB and PostgreSQL agree on which values count.
    Exponent forms (1e3) are not accepted: they are rare in tracking and unbounded.
    Negative numbers are not accepted either: every number read (seconds watched or
    engaged, a search's result count and position, revenue) is an amount that cannot
    be negative, and one "-5" summed in would turn a day's figure negative. A refund is
    its own event (Segment's Order Refunded), not a negative revenue. -#}

{% macro json_integer(column, key) -%}
    {{ parse_number(json_text(column, key), dbt.type_int(), '[0-9]{1,9}') }}
{%- endmacro %}

{% macro json_double(column, key) -%}
    {{ parse_number(json_text(column, key), type_double(), '[0-9]{1,15}([.][0-9]+)?') }}
{%- endmacro %}

{#- Money is exact: DECIMAL with 4 places (cents exact after currency conversion), so a
    sum is the same whatever order or batches a build adds it up in: a full and an
    incremental build agree to the cent, which floating point does not promise. -#}
{% macro type_money() -%}
    decimal(18, 4)
{%- endmacro %}

{#- Sums of money: wide enough for any total of DECIMAL(18, 4) amounts. -#}
{% macro type_money_total() -%}
    decimal(38, 4)
{%- endmacro %}

{% macro to_money(text) -%}
    {{ parse_number(text, type_money(), '[0-9]{1,14}([.][0-9]+)?') }}
{%- endmacro %}

{% macro parse_number(text, type, pattern) -%}
    case
        when {{ adapter.dispatch('matches_whole', 'ringside')(text, pattern) }}
            then cast({{ text }} as {{ type }})
    end
{%- endmacro %}

{#- Whether the whole text matches the regular expression. -#}
{% macro default__matches_whole(text, pattern) -%}
    ({{ text }} ~ '^({{ pattern }})$')
{%- endmacro %}

{% macro duckdb__matches_whole(text, pattern) -%}
    regexp_full_match({{ text }}, '{{ pattern }}')
{%- endmacro %}
