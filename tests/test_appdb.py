"""The application database: Alembic migrations on SQLite and PostgreSQL, KPI seeding
from a config file once, editing, and the targets snapshot that carries edits to dbt."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from alembic.script import ScriptDirectory
from pydantic import SecretStr
from sqlalchemy import inspect, select, text

from ringside.bi.kpis import (
    DEFAULT_KPIS_FILE,
    Kpi,
    current_kpis,
    delete_kpi,
    export_targets,
    read_kpis,
    save_kpi,
    seed_kpis,
)
from ringside.core.appdb import engine_for, session, upgrade
from ringside.core.appdb.alerts import AlertRule
from ringside.core.appdb.engine import alembic_config
from ringside.core.settings import Settings
from tests.postgres import throwaway_database

TABLES = {
    "alembic_version",
    "kpi_targets",
    "seeds",
    "alert_rules",
    "alert_transitions",
    "notification_deliveries",
    "principals",
    "api_keys",
    "web_sessions",
    "partners",
    "reports",
    "report_runs",
    "share_links",
    "dashboards",
}
SMALL_KPIS = """
kpis:
  - metric: dau
    owner: growth
    tolerance: 0.05
    targets: {day: 700, week: 650}
  - metric: mrr_usd
    owner: finance
    alert_threshold: 2500
    targets: {month: 3000}
"""


def check_upgrade(settings: Settings) -> None:
    """Upgrade creates every table at the newest revision; a second changes nothing."""
    upgrade(settings)
    engine = engine_for(settings)
    assert set(inspect(engine).get_table_names()) == TABLES
    with engine.begin() as con:
        con.execute(text("insert into seeds (name, applied_at) values ('probe', '2026-08-01')"))
    upgrade(settings)
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as con:
        assert con.execute(text("select version_num from alembic_version")).scalars().all() == [
            head
        ]
        assert con.execute(text("select name from seeds")).scalars().all() == ["probe"]
    assert set(inspect(engine).get_table_names()) == TABLES


def test_upgrade_empty_sqlite(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert not settings.layout.app_db_path.exists()
    check_upgrade(settings)
    assert settings.layout.app_db_path.is_file()


def test_upgrade_empty_postgres(tmp_path: Path) -> None:
    with throwaway_database() as name:
        url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
        settings = Settings(home=tmp_path, app_db_url=SecretStr(url))
        check_upgrade(settings)
        assert not settings.layout.app_db_path.exists()  # nothing written to SQLite
        engine_for(settings).dispose()


def test_upgrade_from_0001_keeps_alert_deliveries(tmp_path: Path) -> None:
    """0002 makes notification_deliveries.transition_id nullable (SQLite: by copying the
    table); a delivery written under 0001 survives with its transition."""
    from alembic import command

    settings = Settings(home=tmp_path)
    engine = engine_for(settings)
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as con:
        con.execute(
            text(
                "insert into alert_transitions (id, rule_name, from_state, to_state, message,"
                " created_at) values (7, 'r', 'ok', 'firing', 'm', '2026-08-01')"
            )
        )
        con.execute(
            text(
                "insert into notification_deliveries (transition_id, channel, destination,"
                " payload, status, attempts, created_at)"
                " values (7, 'webhook', 'http://x', '{}', 'failed', 3, '2026-08-01')"
            )
        )
    upgrade(settings)
    with engine.connect() as con:
        rows = con.execute(
            text("select transition_id, report_run_id, attempts from notification_deliveries")
        ).all()
    assert [tuple(r) for r in rows] == [(7, None, 3)]


def test_kpis_seeded_once_then_edited(tmp_path: Path) -> None:
    config = tmp_path / "kpis.yml"
    config.write_text(SMALL_KPIS)
    settings = Settings(home=tmp_path / "home")
    with session(settings) as db:
        assert seed_kpis(db, config) is True
        assert seed_kpis(db, config) is False
        assert read_kpis(db) == [
            Kpi(metric="dau", owner="growth", tolerance=0.05, targets={"day": 700, "week": 650}),
            Kpi(metric="mrr_usd", owner="finance", alert_threshold=2500, targets={"month": 3000}),
        ]
        # The alert threshold became a daily rule on the bad side (MRR: below).
        rules = db.scalars(select(AlertRule)).all()
        assert [(r.name, r.kind, r.subject, r.grain, r.params) for r in rules] == [
            (
                "mrr_usd below 2500 (KPI alert threshold)",
                "threshold",
                "mrr_usd",
                "day",
                {"operator": "below", "value": 2500.0},
            )
        ]
        # Replacing a KPI replaces all of its grain rows.
        save_kpi(db, Kpi(metric="dau", owner="audience", targets={"month": 800}))
        assert delete_kpi(db, "mrr_usd") is True
        assert delete_kpi(db, "mrr_usd") is False
    with session(settings) as db:
        assert seed_kpis(db, config) is False  # deleted KPIs do not come back
        assert read_kpis(db) == [Kpi(metric="dau", owner="audience", targets={"month": 800})]


def test_exported_targets_follow_the_database(tmp_path: Path) -> None:
    """The repo's kpis.yml seeds on first use; an edit reaches the next snapshot."""
    settings = Settings(home=tmp_path)
    written = yaml.safe_load(DEFAULT_KPIS_FILE.read_text())["kpis"]
    assert [(k.metric, k.targets) for k in current_kpis(settings)] == sorted(
        (k["metric"], k["targets"]) for k in written
    )
    first = export_targets(settings)
    assert first is not None
    assert export_targets(settings) is None  # unchanged: no new snapshot
    with session(settings) as db:
        save_kpi(db, Kpi(metric="new_signups", owner="growth", targets={"week": 300}))
    second = export_targets(settings)
    assert second is not None and second != first
    rows = [r for r in pq.read_table(second).to_pylist() if r["metric"] == "new_signups"]
    assert [(r["grain"], r["target"], r["tolerance"]) for r in rows] == [("week", 300.0, 0.0)]


def test_invalid_kpi_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"targets\.year"):
        Kpi.model_validate({"metric": "dau", "targets": {"year": 1}})


def test_upgrade_from_0002_turns_names_into_principals(tmp_path: Path) -> None:
    """0003: keys of one name were one identity and stay one principal; owners, shares
    with users and share links point at it; the defaults ("ringside") become unowned and
    a delivery's link ("run N") the report owner's."""
    from alembic import command

    from ringside.core.appdb.engine import alembic_config

    settings = Settings(home=tmp_path)
    engine = engine_for(settings)
    command.upgrade(alembic_config(engine), "0002")
    rows = {
        "api_keys (id, name, role, prefix, key_hash, email, created_at, revoked_at)": [
            "(1, 'ana', 'analyst', 'rs_1', 'h1', null, '2026-01-01', '2026-02-01')",
            "(2, 'ana', 'admin', 'rs_2', 'h2', 'ana@x.test', '2026-02-01', null)",
            "(3, 'bob', 'viewer', 'rs_3', 'h3', null, '2026-03-01', null)",
        ],
        "reports (id, name, description, owner, type, query, recipients, visibility,"
        " shared_with_roles, shared_with_users, created_at, updated_at)": [
            "(10, 'r', '', 'ana', 'table', '{}', '{}', 'shared', '[]', '[\"bob\"]',"
            " '2026-01-01', '2026-01-01')",
            "(11, 'd', '', 'ringside', 'table', '{}', '{}', 'public', '[]', '[]',"
            " '2026-01-01', '2026-01-01')",
        ],
        "dashboards (id, name, type, description, owner, widgets, layout,"
        " refresh_interval_seconds, is_default, allowed_roles, created_at, updated_at)": [
            "(20, 'mine', 'overview', '', 'bob', '[]', '{}', 300, 0, '[]', '2026-01-01',"
            " '2026-01-01')",
            "(21, 'default', 'overview', '', 'ringside', '[]', '{}', 300, 1, '[]', '2026-01-01',"
            " '2026-01-01')",
        ],
        "share_links (id, report_id, token_hash, created_by, created_at, access_count)": [
            "(30, 10, 't1', 'ana', '2026-01-01', 0)",
            "(31, 10, 't2', 'run 7', '2026-01-01', 0)",
        ],
    }
    with engine.begin() as con:
        for table, values in rows.items():
            for value in values:
                con.execute(text(f"insert into {table} values {value}"))
    upgrade(settings)
    with engine.connect() as con:
        people = con.execute(text("select id, name, email from principals order by id")).all()
        assert [tuple(p) for p in people] == [(1, "ana", "ana@x.test"), (2, "bob", None)]
        keys = con.execute(text("select id, principal_id from api_keys order by id")).all()
        assert [tuple(k) for k in keys] == [(1, 1), (2, 1), (3, 2)]
        reports = con.execute(
            text("select id, owner_id, shared_with_users from reports order by id")
        ).all()
        assert [(r[0], r[1], json.loads(r[2])) for r in reports] == [(10, 1, [2]), (11, None, [])]
        dashboards = con.execute(text("select id, owner_id from dashboards order by id")).all()
        assert [tuple(d) for d in dashboards] == [(20, 2), (21, None)]
        links = con.execute(text("select id, created_by_id from share_links order by id")).all()
        assert [tuple(link) for link in links] == [(30, 1), (31, 1)]
