{#- Money is exact: DECIMAL with 4 places (cents exact after currency conversion), so a
    sum is the same whatever order or batches a build adds it up in — a full and an
    incremental build agree to the cent, which floating point does not promise. -#}
{% macro type_money() -%}
    decimal(18, 4)
{%- endmacro %}

{#- A text value (a JSON property) as money, or NULL when it is not a plain decimal
    number of at most 14 integer digits ('9.99', '-5', '20'): a client sending
    "revenue": "free" or 1e400 must not fail the cast and with it every build. The same
    pattern on both engines, so they agree on which values count. -#}
{% macro to_money(text) -%}
    case
        when {{ adapter.dispatch('matches_decimal', 'ringside')(text) }}
            then cast({{ text }} as {{ type_money() }})
    end
{%- endmacro %}

{% macro default__matches_decimal(text) -%}
    ({{ text }} ~ '^-?[0-9]{1,14}(\.[0-9]+)?$')
{%- endmacro %}

{% macro duckdb__matches_decimal(text) -%}
    regexp_full_match({{ text }}, '-?[0-9]{1,14}(\.[0-9]+)?')
{%- endmacro %}
