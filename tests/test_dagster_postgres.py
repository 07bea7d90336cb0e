"""Dagster's own storage on PostgreSQL (dagster_postgres.yaml): a materialization through
the instance lands in PostgreSQL's runs and event-log tables, and nothing in SQLite."""

from datetime import date
from pathlib import Path
from urllib.parse import quote

import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, DagsterRunStatus, materialize

from ingestion.batch import ingest_paths
from orchestration.defs.window import DAYS_TAG, days_tag
from orchestration.runner import configure_dagster_home
from ringside.core.postgres import connect
from ringside.core.settings import Settings, get_settings
from ringside.demo.generator import generate
from tests.postgres import throwaway_database


def storage_url(settings: Settings) -> str:
    """The owner's connection as the SQLAlchemy URL dagster-postgres takes."""
    password = settings.pg_password.get_secret_value()
    credentials = quote(settings.pg_user) + (f":{quote(password)}" if password else "")
    return (
        f"postgresql+psycopg2://{credentials}@{settings.pg_host}:{settings.pg_port}"
        f"/{settings.pg_database}"
    )


def test_a_materialization_is_stored_in_postgresql(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from orchestration.defs.ingestion import RAW_EVENTS_KEY, raw_events

    day = "2026-08-01"
    platform = generate(tmp_path / "platform", days=1, users=20, seed=3)
    ingest_paths([platform.out], settings.layout.ensure(), settings)
    landed_rows = pq.read_table(settings.layout.raw_events_dir / f"event_date={day}").num_rows
    assert landed_rows > 0

    with throwaway_database() as database:
        storage = settings.model_copy(update={"pg_database": database})
        monkeypatch.setenv("RINGSIDE_DAGSTER_PG_URL", storage_url(storage))
        get_settings.cache_clear()
        # What every `ringside` command does: the setting selects dagster_postgres.yaml.
        dagster_home = configure_dagster_home(settings.layout)
        assert "postgres" in (dagster_home / "dagster.yaml").read_text()

        with DagsterInstance.get() as instance:
            result = materialize(
                [raw_events], instance=instance, tags=days_tag([date.fromisoformat(day)])
            )
            assert result.success
            recorded = instance.get_latest_materialization_event(RAW_EVENTS_KEY)
            assert recorded is not None
            metadata = recorded.asset_materialization.metadata
            assert metadata["dagster/row_count"].value == landed_rows
            assert metadata["days"].value == 1

        # Read back with plain SQL, not through Dagster.
        with connect(storage) as con, con.cursor() as cur:
            cur.execute("select status from runs where run_id = %s", (result.run_id,))
            assert cur.fetchall() == [(DagsterRunStatus.SUCCESS.value,)]
            cur.execute(
                "select asset_key from event_logs "
                "where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION'",
                (result.run_id,),
            )
            assert cur.fetchall() == [(RAW_EVENTS_KEY.to_string(),)]
            cur.execute(
                "select value from run_tags where run_id = %s and key = %s",
                (result.run_id, DAYS_TAG),
            )
            assert cur.fetchall() == [(day,)]
        con.close()

    # Runs, event log and schedules all went to PostgreSQL: no SQLite storage was made.
    assert not list(dagster_home.rglob("*.db"))
