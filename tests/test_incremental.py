"""Day-by-day incremental builds give exactly the marts of a full rebuild.

Data arrives as it would in production: each arrival day's file is ingested, then that
day's partition is built (dbt vars min_date = max_date = the day). Late events of earlier
days arrive in later files and sessions cross midnight, so the lookback window and the
incremental sessionization are exercised. The same landed data is then built from
scratch into a second database, and every model is compared row for row.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingestion.batch import ingest_paths
from orchestration.dbt_project import DBT_PROJECT_DIR
from ringside.demo.generator import generate
from ringside.settings import Settings
from ringside.warehouse import ensure_sources

DBT = str(Path(sys.executable).parent / "dbt")


def dbt(settings: Settings, database: Path, *args: str) -> None:
    env = {**os.environ, **settings.layout.dbt_env(), "RINGSIDE_DUCKDB_PATH": str(database)}
    subprocess.run(
        [DBT, "--quiet", *args, "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR)],
        env=env,
        check=True,
        timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("incremental")
    summary = generate(root / "platform", days=8, users=300, seed=5)
    settings = Settings(home=root / "home")
    layout = settings.layout.ensure()
    ingest_paths(sorted((summary.out / "snapshots").glob("*.ndjson")), layout, settings)
    ensure_sources(layout)
    incremental, full = root / "incremental.duckdb", root / "full.duckdb"
    for database in (incremental, full):
        dbt(settings, database, "seed")
    for day_file in sorted((summary.out / "events").glob("*.ndjson.gz")):
        day = day_file.name.removesuffix(".ndjson.gz")
        ingest_paths([day_file], layout, settings)
        window = json.dumps({"min_date": day, "max_date": day})
        dbt(settings, incremental, "run", "--vars", window)
    dbt(settings, full, "run")
    return incremental, full


def test_day_by_day_builds_equal_a_full_rebuild(databases: tuple[Path, Path]):
    incremental, full = databases
    con = duckdb.connect()
    con.execute(f"attach '{incremental}' as inc (read_only)")
    con.execute(f"attach '{full}' as full_build (read_only)")
    tables = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'full_build' order by table_name"
        ).fetchall()
    ]
    assert {"fct_events", "fct_sessions", "fct_page_views", "mart_overview_daily"} <= set(tables)
    differences = {}
    for table in tables:
        rows = con.execute(f"select count(*) from full_build.main.{table}").fetchone()[0]
        only_full = con.execute(
            f"select count(*) from (select * from full_build.main.{table} "
            f"except all select * from inc.main.{table})"
        ).fetchone()[0]
        only_incremental = con.execute(
            f"select count(*) from (select * from inc.main.{table} "
            f"except all select * from full_build.main.{table})"
        ).fetchone()[0]
        if only_full or only_incremental:
            differences[table] = (rows, only_full, only_incremental)
        assert rows > 0 or table.startswith("stg_app"), table
    assert differences == {}
