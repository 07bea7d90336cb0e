{#- Comparison of two conversion rates (control vs variant), as SQL expressions over
    counts: `n_*` users, `x_*` converted users. The difference is always
    variant − control. Every result is NULL when it is undefined (a group without
    users; a z statistic without variance). Arguments are repeated in the generated
    SQL: pass columns. Checked against scipy in tests/test_experiment_stats.py. -#}

{#- x / n as a float (NULL when n = 0). -#}
{% macro proportion(x, n) -%}
    (cast({{ x }} as {{ type_double() }}) / nullif(cast({{ n }} as {{ type_double() }}), 0))
{%- endmacro %}

{#- z statistic of the two-proportion z-test with pooled variance:
    (p_v − p_c) / sqrt(p̂ (1 − p̂) (1/n_c + 1/n_v)), p̂ = (x_c + x_v) / (n_c + n_v).
    NULL when p̂ is 0 or 1 (no conversions, or only conversions, in both groups). -#}
{% macro two_proportion_z_score(n_control, x_control, n_variant, x_variant) -%}
    {%- set pooled = proportion('(' ~ x_control ~ ' + ' ~ x_variant ~ ')',
                                '(' ~ n_control ~ ' + ' ~ n_variant ~ ')') -%}
    (({{ proportion(x_variant, n_variant) }} - {{ proportion(x_control, n_control) }})
        / nullif(sqrt(
            {{ pooled }} * (1 - {{ pooled }})
            * ({{ proportion(1, n_control) }} + {{ proportion(1, n_variant) }})
        ), 0))
{%- endmacro %}

{#- Two-sided p-value of that z-test. -#}
{% macro two_proportion_p_value(n_control, x_control, n_variant, x_variant) -%}
    {{ two_sided_p_value(two_proportion_z_score(n_control, x_control, n_variant, x_variant)) }}
{%- endmacro %}

{#- Wald confidence interval of p_v − p_c with the unpooled standard error
    sqrt(p_c (1 − p_c) / n_c + p_v (1 − p_v) / n_v); `bound` is 'lower' or 'upper';
    `z` is the two-sided critical value (default 1.959963984540054, i.e. 95 %). -#}
{% macro proportion_difference_ci(n_control, x_control, n_variant, x_variant, bound,
                                  z=1.959963984540054) -%}
    {%- if bound not in ('lower', 'upper') -%}
        {{ exceptions.raise_compiler_error("bound must be 'lower' or 'upper', got " ~ bound) }}
    {%- endif -%}
    {%- set p_c = proportion(x_control, n_control) -%}
    {%- set p_v = proportion(x_variant, n_variant) -%}
    (({{ p_v }} - {{ p_c }})
        {{ '-' if bound == 'lower' else '+' }} {{ z }} * sqrt(
            {{ p_c }} * (1 - {{ p_c }}) * {{ proportion(1, n_control) }}
            + {{ p_v }} * (1 - {{ p_v }}) * {{ proportion(1, n_variant) }}
        ))
{%- endmacro %}
