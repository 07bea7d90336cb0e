"""The experiment statistics macros (`normal_cdf`, `two_proportion_*`,
`proportion_difference_ci`) against scipy: the macros are rendered by dbt itself
(`dbt compile --inline`, the same SQL `mart_experiment_results` runs) and executed in
DuckDB on hand-made (n, x) cases."""

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner
from scipy.stats import norm

from orchestration.dbt_project import DBT_PROJECT_DIR
from ringside.core.layout import Layout

Z_95 = 1.959963984540054

# (n_control, x_control, n_variant, x_variant)
CASES = [
    (2083, 217, 2062, 310),  # the demo's paywall_v2
    (1000, 100, 1000, 100),  # no difference: z = 0, p = 1
    (1000, 0, 1000, 7),  # control without conversions
    (500, 25, 480, 0),  # variant without conversions
    (50, 3, 60, 9),  # small groups
    (100_000, 10_000, 100_000, 10_600),  # small p-value
    (20_000, 1_000, 20_000, 1_500),  # tiny p-value (~1e-20): relative precision
    (10, 0, 12, 0),  # no conversions at all: test undefined
    (10, 10, 12, 12),  # everyone converted: test undefined
]


@pytest.fixture(scope="module")
def compile_sql(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """Renders inline SQL with the project's macros via `dbt compile --inline`, with the
    warehouse, target and logs in a temporary directory."""
    tmp = tmp_path_factory.mktemp("dbt")
    with pytest.MonkeyPatch.context() as patch:
        env = Layout(tmp / "home").dbt_env()
        for name, value in env.items():
            patch.setenv(name, value)
        # dbt opens the (empty) DuckDB warehouse even to compile.
        Path(env["RINGSIDE_DUCKDB_PATH"]).parent.mkdir(parents=True)

        def compile_inline(sql: str) -> str:
            result = dbtRunner().invoke(
                [
                    "compile",
                    "--quiet",
                    "--inline",
                    sql,
                    "--project-dir",
                    str(DBT_PROJECT_DIR),
                    "--profiles-dir",
                    str(DBT_PROJECT_DIR),
                    "--target-path",
                    str(tmp / "target"),
                    "--log-path",
                    str(tmp / "logs"),
                ]
            )
            assert result.success, result.exception
            return result.result.results[0].node.compiled_code

        yield compile_inline


def values_sql(rows: list[tuple[float, ...]]) -> str:
    return ", ".join("(" + ", ".join(repr(v) for v in row) + ")" for row in rows)


def reference(n_c: int, x_c: int, n_v: int, x_v: int) -> dict[str, float | None]:
    """Pooled two-proportion z-test and unpooled Wald interval, from scipy's normal."""
    p_c, p_v = x_c / n_c, x_v / n_v
    pooled = (x_c + x_v) / (n_c + n_v)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_v))
    z = (p_v - p_c) / se_pooled if se_pooled > 0 else None
    se = math.sqrt(p_c * (1 - p_c) / n_c + p_v * (1 - p_v) / n_v)
    return {
        "z_score": z,
        "p_value": None if z is None else 2 * norm.sf(abs(z)),
        "ci_lower": p_v - p_c - Z_95 * se,
        "ci_upper": p_v - p_c + Z_95 * se,
    }


def test_critical_value_is_the_95_percent_normal_quantile():
    assert norm.ppf(0.975) == pytest.approx(Z_95, abs=1e-15)


def test_normal_cdf_matches_scipy(compile_sql: Callable[[str], str]):
    xs = [i / 8 for i in range(-80, 81)] + [-37.5, -36.9, -20.0, -7.5, 7.5, 20.0, 36.9, 37.5]
    sql = compile_sql(
        "select x, {{ normal_cdf('x') }} as cdf from (values "
        + values_sql([(float(x),) for x in xs])
        + ") as grid (x)"
    )
    rows = duckdb.sql(sql).fetchall()
    assert len(rows) == len(xs)
    for literal, cdf in rows:
        x = float(literal)  # a DECIMAL literal in DuckDB
        # Absolute agreement everywhere, relative agreement in the lower tail.
        assert cdf == pytest.approx(norm.cdf(x), abs=1e-12), x
        if x < 0:
            assert cdf == pytest.approx(norm.cdf(x), rel=1e-6, abs=1e-300), x


def test_two_proportion_test_and_interval_match_scipy(compile_sql: Callable[[str], str]):
    sql = compile_sql(
        """
        with cases as (
            select * from (values """
        + values_sql([(i, *case) for i, case in enumerate(CASES)])
        + """) as cases (case_id, n_c, x_c, n_v, x_v)
        ),
        tested as (
            select *, {{ two_proportion_z_score('n_c', 'x_c', 'n_v', 'x_v') }} as z_score
            from cases
        )
        select
            case_id,
            z_score,
            {{ two_sided_p_value('z_score') }} as p_value,
            {{ two_proportion_p_value('n_c', 'x_c', 'n_v', 'x_v') }} as p_value_direct,
            {{ proportion_difference_ci('n_c', 'x_c', 'n_v', 'x_v', 'lower') }} as ci_lower,
            {{ proportion_difference_ci('n_c', 'x_c', 'n_v', 'x_v', 'upper') }} as ci_upper
        from tested
        order by case_id
        """
    )
    rows = duckdb.sql(sql).fetchall()
    assert len(rows) == len(CASES)
    for case_id, z, p, p_direct, lower, upper in rows:
        expected = reference(*CASES[case_id])
        actual = {"z_score": z, "p_value": p, "ci_lower": lower, "ci_upper": upper}
        for column, value in expected.items():
            if value is None:
                assert actual[column] is None, (CASES[case_id], column)
            else:
                assert actual[column] == pytest.approx(value, rel=1e-6, abs=1e-15), (
                    CASES[case_id],
                    column,
                )
        assert p_direct == p
        assert p is None or 0 <= p <= 1


def test_demo_experiment_p_value_is_significant_and_case_without_difference_is_one(
    compile_sql: Callable[[str], str],
):
    sql = compile_sql(
        "select {{ two_proportion_p_value(2083, 217, 2062, 310) }},"
        " {{ two_proportion_p_value(1000, 100, 1000, 100) }}"
    )
    demo, equal = duckdb.sql(sql).fetchone()
    assert demo == pytest.approx(reference(2083, 217, 2062, 310)["p_value"], rel=1e-6)
    assert demo < 1e-4
    assert equal == 1.0
