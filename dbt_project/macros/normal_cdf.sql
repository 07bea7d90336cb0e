{#- Standard normal distribution functions in plain, portable SQL (no engine has to
    provide erf or a normal CDF): only abs, exp, arithmetic and CASE.

    Algorithm: Hart (1968) algorithm 5666 as published by Graeme West, "Better
    approximations to cumulative normal functions" (Wilmott Magazine, 2005) — a
    rational function times exp(-x²/2) for |x| < 7.07, a continued fraction up to
    |x| = 37, and 0 beyond (where the tail is below 1e-300 and exp would underflow,
    which PostgreSQL reports as an error). Measured against scipy: absolute error
    < 1e-15 over the whole real line, and because the tail is computed directly (not
    as 1 − Φ) small tail probabilities keep their relative precision too (relative
    error < 1e-8 out to |x| = 37). Far better than Abramowitz–Stegun 7.1.26 (absolute
    error 1.5e-7); tests/test_experiment_stats.py checks it against scipy.

    The argument is repeated in the generated SQL: pass a column or another cheap
    expression. -#}

{#- P(Z ≤ −a) for a ≥ 0 (the lower tail at −a, i.e. the upper tail at a); `a` must be
    a float (a DECIMAL overflows in the polynomials). -#}
{% macro normal_lower_tail_of_abs(a) -%}
    (case
        when {{ a }} > 37 then 0
        when {{ a }} < 7.07106781186547 then
            exp(-{{ a }} * {{ a }} / 2)
            * ((((((0.0352624965998911 * {{ a }} + 0.700383064443688) * {{ a }}
                + 6.37396220353165) * {{ a }} + 33.912866078383) * {{ a }}
                + 112.079291497871) * {{ a }} + 221.213596169931) * {{ a }}
                + 220.206867912376)
            / (((((((0.0883883476483184 * {{ a }} + 1.75566716318264) * {{ a }}
                + 16.064177579207) * {{ a }} + 86.7807322029461) * {{ a }}
                + 296.564248779674) * {{ a }} + 637.333633378831) * {{ a }}
                + 793.826512519948) * {{ a }} + 440.413735824752)
        else
            exp(-{{ a }} * {{ a }} / 2)
            / ({{ a }} + 1 / ({{ a }} + 2 / ({{ a }} + 3 / ({{ a }} + 4 / ({{ a }} + 0.65)))))
            / 2.506628274631
    end)
{%- endmacro %}

{#- Φ(x) = P(Z ≤ x) for a standard normal Z; NULL for NULL. -#}
{% macro normal_cdf(x) -%}
    (case
        when {{ x }} > 0 then 1 - {{ normal_lower_tail_of_abs('abs(cast(' ~ x ~ ' as ' ~ type_double() ~ '))') }}
        else {{ normal_lower_tail_of_abs('abs(cast(' ~ x ~ ' as ' ~ type_double() ~ '))') }}
    end)
{%- endmacro %}

{#- Two-sided p-value of a z statistic: 2 · P(Z ≤ −|z|), in [0, 1]; NULL for NULL. -#}
{% macro two_sided_p_value(z) -%}
    (2 * {{ normal_lower_tail_of_abs('abs(cast(' ~ z ~ ' as ' ~ type_double() ~ '))') }})
{%- endmacro %}
