"""Funnel and retention rules are written once, as dbt macros, and both the marts and the
API's ad-hoc engine are rendered from them (ringside/insights/macros.py).

The proof is a mutation: a copy of the dbt project with one rule changed in its macro
file, and nothing else. dbt compiles the marts of the copy, the engine renders its
queries from the copy's macros, and both carry the change: the compiled marts hold the
engine's rendering of the same macro calls byte for byte, and the engine's answers move
as the rule says. A rule still written a second time — in a model or in the engine —
would keep the old behaviour there, and this test would fail.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

import ringside.insights.funnels as funnels
import ringside.insights.retention as retention
from ringside.core.layout import DBT_PROJECT_DIR
from ringside.insights.definitions import FunnelDefinition
from ringside.insights.macros import Macros, macros

UseMacros = Callable[[Macros], None]
DBT = str(Path(sys.executable).parent / "dbt")
MODELS = ("fct_funnel_progress", "mart_funnel_daily", "mart_cohort_retention")
# (file, the rule as written, the rule changed): the end of a funnel's conversion window
# becomes exclusive; unbounded retention counts from a member's first return instead of
# their last.
MUTATIONS = [
    (
        "funnel_counting.sql",
        "where is_anchor and next_at <= deadline",
        "where is_anchor and next_at < deadline",
    ),
    (
        "retention.sql",
        "max(period_number) as last_return_number",
        "min(period_number) as last_return_number",
    ),
]


@dataclass
class Mutant:
    macros: Macros
    compiled: dict[str, str]


@pytest.fixture(scope="module")
def mutant(tmp_path_factory: pytest.TempPathFactory) -> Mutant:
    """The dbt project with every rule of MUTATIONS changed, compiled by dbt on DuckDB."""
    root = tmp_path_factory.mktemp("one-definition")
    project = root / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    for file, rule, changed in MUTATIONS:
        path = project / "macros" / file
        text = path.read_text()
        assert rule in text, f"{file} no longer holds the rule {rule!r}"
        path.write_text(text.replace(rule, changed))
    env = {
        **os.environ,
        "RINGSIDE_WAREHOUSE": "duckdb",
        "RINGSIDE_DUCKDB_PATH": str(root / "compile.duckdb"),
    }
    subprocess.run(
        [DBT, "--quiet", "compile", "--select", *MODELS, "--project-dir", str(project),
         "--profiles-dir", str(project), "--target-path", str(root / "target")],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )  # fmt: skip
    compiled = root / "target" / "compiled" / "ringside" / "models" / "marts"
    return Mutant(
        macros=Macros("duckdb", project / "macros"),
        compiled={path.stem: path.read_text() for path in compiled.glob("*/*.sql")},
    )


@pytest.fixture
def engine_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[UseMacros]:
    """Points the engine at a set of macros (as if they were the project's)."""

    def use(shared: Macros) -> None:
        monkeypatch.setattr(funnels, "macros", lambda engine: shared)
        monkeypatch.setattr(retention, "macros", lambda engine: shared)

    yield use


def saved_funnel_definitions() -> list[dict]:
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["funnels"]


def test_the_marts_are_compiled_from_the_macros_the_engine_renders(mutant: Mutant):
    """The macro calls of the marts, rendered by the engine's Jinja context from the
    mutated files, are in dbt's compiled marts exactly, mutation included; rendered
    from the project's own files they are not."""
    compiled = mutant.compiled
    for shared, present in ((mutant.macros, True), (macros("duckdb"), False)):
        for number, raw in enumerate(saved_funnel_definitions(), 1):
            attempts = shared.funnel_attempts(
                f"funnel_{number}", "events", shared.funnel_definition(raw)
            )
            assert (attempts in compiled["fct_funnel_progress"]) is present, raw["name"]
        cells = shared.retention_cells(
            ["day", "week", "month"], ["first_touch_channel", "first_device_type"], revenue=True
        )
        assert (cells in compiled["mart_cohort_retention"]) is present
    report = mutant.macros.funnel_step_report(
        "report",
        "breakdown_rows",
        "funnel_steps",
        group_by=["funnel_name", "entry_date", "breakdown", "breakdown_value"],
        keys=["funnel_name"],
        step_columns=["step_name", "conversion_window_seconds"],
    )
    assert report in compiled["mart_funnel_daily"]
    assert (
        mutant.macros.retention_measured("counted", revenue=True)
        in (compiled["mart_cohort_retention"])
    )
    for _, rule, changed in MUTATIONS:
        assert not any(rule in sql for sql in compiled.values())
        assert any(changed in sql for sql in compiled.values())


def events_table(rows: list[tuple[str, str, datetime]]) -> duckdb.DuckDBPyConnection:
    """A `fct_events` of (user, event name, time) rows with the columns the engine reads."""
    con = duckdb.connect()
    con.execute(
        """
        create table fct_events (
            message_id varchar, stitched_user_id varchar, device_type varchar,
            event_name varchar, is_page_view boolean, is_active_event boolean,
            page_path varchar, content_type varchar, properties varchar,
            event_time timestamp, event_date date
        )
        """
    )
    for number, (user, name, at) in enumerate(rows, 1):
        con.execute(
            "insert into fct_events values (?, ?, 'desktop', ?, false, true, null, null, null,"
            " ?, ?)",
            [f"m{number}", user, name, at, at.date()],
        )
    return con


def test_the_engine_answers_by_the_rule_in_the_macro(mutant: Mutant, engine_on: UseMacros):
    """The same queries, answered from the project's macros and then from the mutated
    ones: the engine follows the macro, having no rule of its own."""
    t0 = datetime(2026, 3, 2, 12)
    # B exactly at the end of a one-hour window: converted, unless the end is exclusive.
    con = events_table([("u1", "A", t0), ("u1", "B", t0 + timedelta(hours=1))])
    definition = FunnelDefinition.model_validate(
        {
            "steps": [{"event": "A"}, {"event": "B"}],
            "conversion_window": {"value": 1, "unit": "hour"},
        }
    )
    query = funnels.FunnelQuery(definition=definition, start=t0.date(), end=t0.date())
    # Active on D, D+1 and D+3: still active at D+2 or later (rolling N = 2) by the last
    # return, not by the first.
    day = date(2026, 3, 2)
    retention_con = events_table(
        [("u1", "Seen", datetime.combine(day + timedelta(n), t0.time())) for n in (0, 1, 3)]
    )
    rolling = retention.RetentionQuery(
        target_event="$any_activity", counting="rolling", start=day, end=day
    )

    def answers() -> tuple[list[int], list[int | None]]:
        steps = [step.users for step in funnels.run_funnel(con, query).steps]
        (cohort,) = retention.run_retention(retention_con, rolling).cohorts
        return steps, cohort.retained

    assert answers() == ([1, 1], [1, 1, 1, 1])
    engine_on(mutant.macros)
    assert answers() == ([1, 0], [1, 1, 0, 0])
