"""The warehouse on PostgreSQL: the idempotent COPY loader, the read-only reader role,
and a generated platform built through `run_build` whose marts match figures computed
independently from the generated files (tests/test_end_to_end.py's reference)."""

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import psycopg2
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ingestion.postgres_load import load_partitions, load_snapshots
from ringside.cli import app
from ringside.core.files import write_table
from ringside.core.postgres import connect
from ringside.core.settings import Settings
from tests.platforms import BuiltPlatform, platform_environment
from tests.test_end_to_end import landed_events, quarantined_lines, reference


@pytest.fixture(scope="module")
def platform(twin_platforms: tuple[BuiltPlatform, BuiltPlatform]) -> Iterator[BuiltPlatform]:
    """The generated platform built on PostgreSQL (shared with tests/test_parity.py)."""
    _, on_postgres = twin_platforms
    with platform_environment(on_postgres.settings):
        yield on_postgres


def scalar(settings: Settings, query: str, *params: object) -> object:
    con = connect(settings)
    try:
        with con.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchone()[0]
    finally:
        con.close()


def test_loading_a_day_is_idempotent(platform: BuiltPlatform, tmp_path: Path):
    # A home of its own holding one landed day of the platform, loaded into its own
    # raw schema of the same database.
    built = platform.settings
    day, files = max(
        built.layout.landed_event_files().items(),
        key=lambda item: sum(pq.read_metadata(path).num_rows for path in item[1]),
    )
    settings = built.model_copy(update={"home": tmp_path, "pg_raw_schema": "raw_loader"})
    partition = settings.layout.raw_events_partition(day)
    partition.mkdir(parents=True)
    for path in files:
        shutil.copy(path, partition / path.name)
    landed = sum(pq.read_metadata(path).num_rows for path in files)
    count = "select count(*) from raw_loader.events where event_date = %s"

    assert load_partitions(settings, [day]).rows == landed
    assert load_partitions(settings, [day]).rows == landed
    assert scalar(settings, count, day) == landed
    assert (
        scalar(settings, "select count(distinct message_id) from raw_loader.events")
        == (
            duckdb.sql(
                f"select count(distinct message_id) from read_parquet({[str(p) for p in files]!r})"
            ).fetchone()[0]
        )
    )

    # A late file lands for the day: reloading adds exactly its rows.
    late = pq.read_table(max(files, key=lambda p: pq.read_metadata(p).num_rows)).slice(0, 25)
    assert late.num_rows == 25
    late = late.set_column(
        0, "message_id", pc.binary_join_element_wise(late["message_id"], "-late", "")
    )
    write_table(late, partition, "late.parquet")
    assert load_partitions(settings, [day]).rows == landed + 25
    assert scalar(settings, count, day) == landed + 25
    assert (
        scalar(settings, "select count(*) from raw_loader.events where message_id like '%%-late'")
        == 25
    )
    # Other days are untouched, and an empty day loads as empty.
    assert load_partitions(settings, [date(2020, 1, 1)]).rows == 0
    assert scalar(settings, "select count(distinct event_date) from raw_loader.events") == 1


def test_snapshots_load_once_per_file(platform: BuiltPlatform):
    settings = platform.settings
    files = sorted(settings.layout.snapshot_dir("accounts").glob("*.parquet"))
    landed = sum(pq.read_metadata(path).num_rows for path in files)
    assert load_snapshots(settings).rows == 0  # the build loaded them already
    assert scalar(settings, "select count(*) from raw.accounts") == landed > 0
    assert scalar(settings, "select count(distinct snapshot_file) from raw.accounts") == len(
        [p for p in files if pq.read_metadata(p).num_rows]
    )


def test_raw_table_holds_every_landed_row(platform: BuiltPlatform):
    settings = platform.settings
    landed = duckdb.sql(
        f"select count(*) from read_parquet('{settings.layout.raw_events_glob}')"
    ).fetchone()[0]
    assert scalar(settings, "select count(*) from raw.events") == landed


def test_marts_match_figures_computed_from_the_generated_files(platform: BuiltPlatform):
    settings = platform.settings
    events = landed_events(platform.summary.out, quarantined_lines(settings))
    expected = reference(events).daily
    con = connect(settings, reader=True)
    try:
        with con.cursor() as cur:
            cur.execute(
                "select cast(event_date as text), events, active_users, sessions, page_views "
                "from analytics.mart_overview_daily order by 1"
            )
            built = {
                day: {"events": e, "users": u, "sessions": s, "page_views": p}
                for day, e, u, s, p in cur.fetchall()
            }
            cur.execute("select count(*) from analytics.fct_events")
            assert cur.fetchone()[0] == len(events)
    finally:
        con.close()
    assert {day: figures for day, figures in built.items() if day in expected} == expected
    assert all(figures["events"] == 0 for day, figures in built.items() if day not in expected)


def test_reader_role_reads_marts_but_cannot_write(platform: BuiltPlatform):
    settings = platform.settings
    con = connect(settings, reader=True)
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute("select count(*) from analytics.mart_overview_daily")
            assert cur.fetchone()[0] > 0
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("insert into analytics.dim_users (stitched_user_id) values ('x')")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("create table analytics.intruder (id int)")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("select count(*) from raw.events")
    finally:
        con.close()


def test_status_counts_rows_in_postgres(platform: BuiltPlatform):
    settings = platform.settings
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    overview = scalar(settings, "select count(*) from analytics.mart_overview_daily")
    assert f"PostgreSQL {settings.pg_host}:{settings.pg_port}/{settings.pg_database}" in (
        result.output
    )
    assert any(
        line.split() == ["mart_overview_daily", f"{overview:,}", "rows"]
        for line in result.output.splitlines()
    )
