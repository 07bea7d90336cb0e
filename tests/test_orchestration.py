"""The Dagster code location loads and is wired as designed; the sensor reacts to files."""

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    RunRequest,
    build_run_status_sensor_context,
    build_sensor_context,
    job,
    op,
)

from ingestion.schema import RAW_EVENT_SCHEMA
from ringside.settings import Settings


def test_definitions_load_with_the_expected_pieces(definitions: Definitions):
    defs = definitions
    Definitions.validate_loadable(defs)
    keys = set(defs.resolve_all_asset_keys())
    assert {
        AssetKey(["tracking", "events"]),
        AssetKey(["warehouse", "stg_tracking__events"]),
        AssetKey(["warehouse", "mart_overview_daily"]),
    } <= keys
    graph = defs.resolve_asset_graph()
    # The dbt source resolves to the ingestion asset, so lineage runs landed -> staging.
    assert (
        AssetKey(["tracking", "events"])
        in graph.get(AssetKey(["warehouse", "stg_tracking__events"])).parent_keys
    )
    assert defs.resolve_job_def("ringside_build").partitions_def is not None
    assert defs.resolve_sensor_def("landed_events_sensor")
    assert defs.resolve_schedule_def("hourly_build").cron_schedule == "0 * * * *"
    # dbt data tests are exposed as asset checks.
    checks = {key.name for key in graph.asset_check_keys}
    assert "unique_stg_tracking__events_message_id" in checks


def _land(settings: Settings, day: str, name: str) -> Path:
    directory = settings.layout.raw_events_dir / f"event_date={day}"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    pq.write_table(RAW_EVENT_SCHEMA.empty_table(), path)
    # Non-empty files only count as landed data; an empty table still has a footer.
    assert path.stat().st_size > 0
    return path


def test_sensor_requests_one_run_over_the_changed_days(
    definitions: Definitions, settings: Settings
):
    from orchestration.defs.ingestion import landed_events_sensor

    _land(settings, "2026-08-03", "a.parquet")
    _land(settings, "2026-08-05", "b.parquet")
    context = build_sensor_context()
    request = landed_events_sensor(context)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-08-03"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-08-05"

    # Nothing new: skip. A new file on one day: just that day.
    cursor = context.cursor
    assert landed_events_sensor(build_sensor_context(cursor=cursor)).skip_message
    later = _land(settings, "2026-08-04", "c.parquet")
    os.utime(later, (later.stat().st_mtime + 5, later.stat().st_mtime + 5))
    request = landed_events_sensor(build_sensor_context(cursor=cursor))
    assert request.tags["dagster/asset_partition_range_start"] == "2026-08-04"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-08-04"
    assert json.loads(cursor)["2026-08-05"] > 0


@op
def _nothing() -> None:
    """The chaining sensors look only at which job succeeded, not at what it did."""


def test_each_job_follows_a_successful_run_of_the_one_before(definitions: Definitions):
    """build -> ml_scoring -> alerts_evaluation and executive_summaries, one request per
    successful upstream run, nothing after any other job."""
    chain = {
        "score_after_build": ("ringside_build", "ml_scoring"),
        "alerts_after_scoring": ("ml_scoring", "alerts_evaluation"),
        "summarize_after_scoring": ("ml_scoring", "executive_summaries"),
    }
    instance = DagsterInstance.ephemeral()
    runs = {}
    for name in ("ringside_build", "ml_scoring", "ml_training"):

        @job(name=name)
        def stand_in() -> None:
            _nothing()

        runs[name] = stand_in.execute_in_process(instance=instance)
    for sensor_name, (upstream, downstream) in chain.items():
        sensor = definitions.resolve_sensor_def(sensor_name)
        assert sensor.job_name == downstream
        for name, result in runs.items():
            context = build_run_status_sensor_context(
                sensor_name=sensor_name,
                dagster_instance=instance,
                dagster_run=result.dagster_run,
                dagster_event=result.get_run_success_event(),
            )
            request = sensor(context)
            if name == upstream:
                assert isinstance(request, RunRequest)
                assert request.run_key == f"after-{result.run_id}"
            else:
                assert request is None, (sensor_name, name)
