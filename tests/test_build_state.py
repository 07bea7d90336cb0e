"""What each warehouse generation has built, and the switch between generations."""

import os
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from ingestion.schema import RAW_EVENT_SCHEMA
from ringside.core.build_state import (
    BuildState,
    Generation,
    build_days,
    changed_days,
    landed_state,
    oldest_pending_age,
    pending_days,
    prepare_target,
    served_generation,
    target_generation,
)
from ringside.core.settings import Settings
from ringside.core.warehouse import publish, read_frame


def land(settings: Settings, day: str, name: str, mtime: float) -> Path:
    directory = settings.layout.raw_events_dir / f"event_date={day}"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    pq.write_table(RAW_EVENT_SCHEMA.empty_table(), path)
    os.utime(path, (mtime, mtime))
    return path


def test_changed_days_are_the_days_with_newer_files():
    landed = {"2026-08-01": 10.0, "2026-08-02": 20.0, "2026-08-03": 30.0}
    assert changed_days(landed, BuildState()) == [
        date(2026, 8, 1),
        date(2026, 8, 2),
        date(2026, 8, 3),
    ]
    built = BuildState(landed={"2026-08-01": 10.0, "2026-08-02": 15.0, "2026-08-03": 30.0})
    assert changed_days(landed, built) == [date(2026, 8, 2)]  # a late file of an old day


def test_builds_alternate_between_two_generations_and_publish_switches_a_link(tmp_path: Path):
    settings = Settings(home=tmp_path)
    layout = settings.layout.ensure()
    assert served_generation(settings) is None
    assert target_generation(settings).name == "a"

    with duckdb.connect(str(layout.generation_path("a"))) as con:
        con.execute("create table marts as select 1 as built")
    Generation("a", layout).save(BuildState(landed={"2026-08-01": 1.0}, lineage="first"))
    publish(layout, "a")
    assert layout.serving_path.is_symlink()
    assert served_generation(settings).name == "a"
    assert target_generation(settings).name == "b"
    assert read_frame(settings, "select built from marts")["built"].tolist() == [1]

    # The other generation does not exist yet: it starts as a copy of the served one,
    # with its state, so its next build reads only what is new.
    target = prepare_target(settings)
    assert target.name == "b" and layout.generation_path("b").exists()
    assert target.state() == Generation("a", layout).state()

    with duckdb.connect(str(layout.generation_path("b"))) as con:
        con.execute("update marts set built = 2")
    publish(layout, "b")
    assert read_frame(settings, "select built from marts")["built"].tolist() == [2]
    assert target_generation(settings).name == "a"
    # Same lineage: `a` is built on as it is (one build behind), never copied over.
    assert prepare_target(settings).name == "a"
    with duckdb.connect(str(layout.generation_path("a")), read_only=True) as con:
        assert con.execute("select built from marts").fetchone() == (1,)

    # `b` came from a newer full build: `a` is replaced by a copy of it.
    Generation("b", layout).save(BuildState(landed={}, lineage="second"))
    prepare_target(settings)
    with duckdb.connect(str(layout.generation_path("a")), read_only=True) as con:
        assert con.execute("select built from marts").fetchone() == (2,)
    assert Generation("a", layout).state().lineage == "second"


def test_pending_days_and_the_age_of_the_oldest_unbuilt_file(tmp_path: Path):
    settings = Settings(home=tmp_path)
    layout = settings.layout.ensure()
    land(settings, "2026-08-01", "a.parquet", 1_000.0)
    land(settings, "2026-08-02", "b.parquet", 2_000.0)
    assert pending_days(settings) == [date(2026, 8, 1), date(2026, 8, 2)]
    assert oldest_pending_age(settings, now=2_500.0) == 1_500.0

    Generation("a", layout).save(BuildState(landed=landed_state(layout), lineage="x"))
    publish(layout, "a")
    assert pending_days(settings) == []
    assert oldest_pending_age(settings, now=2_500.0) == 0.0

    land(settings, "2026-08-01", "late.parquet", 2_400.0)
    assert pending_days(settings) == [date(2026, 8, 1)]
    assert oldest_pending_age(settings, now=2_500.0) == 100.0


def test_a_build_reads_what_the_database_it_writes_lacks(tmp_path: Path):
    """With two generations, the one a build writes is one build behind the served one:
    its days are the served build's new days plus what landed since."""
    settings = Settings(home=tmp_path)
    layout = settings.layout.ensure()

    def build_and_publish(name: str, state: BuildState) -> None:
        duckdb.connect(str(layout.generation_path(name))).close()
        Generation(name, layout).save(state)
        publish(layout, name)

    land(settings, "2026-08-01", "a.parquet", 1_000.0)
    assert build_days(settings) == [date(2026, 8, 1)]  # nothing built yet
    build_and_publish("a", BuildState(landed=landed_state(layout), lineage="x"))
    # `b` does not exist: it will be a copy of `a`, which lacks nothing.
    assert build_days(settings) == []

    land(settings, "2026-08-02", "b.parquet", 2_000.0)
    assert build_days(settings) == [date(2026, 8, 2)]
    build_and_publish("b", BuildState(landed=landed_state(layout), lineage="x"))

    land(settings, "2026-08-03", "c.parquet", 3_000.0)
    assert pending_days(settings) == [date(2026, 8, 3)]  # what readers lack
    assert build_days(settings) == [date(2026, 8, 2), date(2026, 8, 3)]  # what `a` lacks

    # `b` from a newer full build: `a` will be replaced by a copy of it.
    Generation("b", layout).save(
        BuildState(landed=Generation("b", layout).state().landed, lineage="y")
    )
    assert build_days(settings) == [date(2026, 8, 3)]
