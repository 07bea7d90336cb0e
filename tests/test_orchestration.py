"""The Dagster code location loads and is wired as designed; the sensor reacts to files."""

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    Definitions,
    RunRequest,
    build_run_status_sensor_context,
    build_sensor_context,
    job,
    op,
)
from dagster._core.utils import make_new_run_id

from ingestion.schema import RAW_EVENT_SCHEMA
from ringside.core.build_state import BuildState, Generation, landed_state
from ringside.core.settings import Settings, get_settings
from ringside.core.warehouse import publish


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
    # Not partitioned: Dagster's bookkeeping per run does not grow with the landed days.
    assert defs.resolve_job_def("ringside_build").partitions_def is None
    assert defs.resolve_sensor_def("landed_events_sensor").minimum_interval_seconds == 30
    assert defs.resolve_schedule_def("daily_full_check").cron_schedule == "30 3 * * *"
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


def test_sensor_requests_one_run_over_the_days_landed_since_the_served_build(
    definitions: Definitions, settings: Settings
):
    from orchestration.defs.ingestion import landed_events_sensor

    instance = DagsterInstance.ephemeral()
    _land(settings, "2026-08-03", "a.parquet")
    _land(settings, "2026-08-05", "b.parquet")
    request = landed_events_sensor(build_sensor_context(instance=instance))
    assert request.tags["ringside/days"] == "2026-08-03,2026-08-05"

    # A build published generation `a` having read both days: nothing new.
    Generation("a", settings.layout).save(BuildState(landed=landed_state(settings.layout)))
    publish(settings.layout, "a")
    assert landed_events_sensor(build_sensor_context(instance=instance)).skip_message

    # A new file on one day: just that day.
    later = _land(settings, "2026-08-04", "c.parquet")
    os.utime(later, (later.stat().st_mtime + 5, later.stat().st_mtime + 5))
    request = landed_events_sensor(build_sensor_context(instance=instance))
    assert request.tags["ringside/days"] == "2026-08-04"

    # While a build runs, no second one is queued behind it.
    instance.add_run(
        DagsterRun(
            job_name="ringside_build", run_id=make_new_run_id(), status=DagsterRunStatus.STARTED
        )
    )
    assert (
        "is running" in landed_events_sensor(build_sensor_context(instance=instance)).skip_message
    )


@op
def _nothing() -> None:
    """The chaining sensors look only at which job succeeded, not at what it did."""


def _stand_in_run(instance: DagsterInstance, name: str):
    @job(name=name)
    def stand_in() -> None:
        _nothing()

    return stand_in.execute_in_process(instance=instance)


def _follow(definitions: Definitions, sensor_name: str, instance: DagsterInstance, result):
    context = build_run_status_sensor_context(
        sensor_name=sensor_name,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_success_event(),
    )
    return definitions.resolve_sensor_def(sensor_name)(context)


def test_each_job_follows_a_successful_run_of_the_one_before(definitions: Definitions):
    """ml_scoring -> alerts_evaluation and executive_summaries, one request per
    successful upstream run, nothing after any other job."""
    chain = {
        "alerts_after_scoring": ("ml_scoring", "alerts_evaluation"),
        "summarize_after_scoring": ("ml_scoring", "executive_summaries"),
    }
    instance = DagsterInstance.ephemeral()
    runs = {name: _stand_in_run(instance, name) for name in ("ml_scoring", "ml_training")}
    for sensor_name, (upstream, downstream) in chain.items():
        assert definitions.resolve_sensor_def(sensor_name).job_name == downstream
        for name, result in runs.items():
            request = _follow(definitions, sensor_name, instance, result)
            if name == upstream:
                assert isinstance(request, RunRequest)
                assert request.run_key == f"after-{result.run_id}"
            else:
                assert request is None, (sensor_name, name)


def test_a_build_is_scored_when_scoring_is_due_and_alerted_on_either_way(
    definitions: Definitions, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """after_build: the first build is followed by ml_scoring; a build within the scoring
    interval of a successful scoring run by alerts_evaluation alone; with an interval of
    0 every build is scored. Runs of other jobs are followed by nothing."""
    instance = DagsterInstance.ephemeral()

    def follow_build() -> str:
        build = _stand_in_run(instance, "ringside_build")
        request = _follow(definitions, "after_build", instance, build)
        assert request.run_key == f"after-{build.run_id}"
        return request.job_name

    assert follow_build() == "ml_scoring"
    scoring = _stand_in_run(instance, "ml_scoring")
    assert follow_build() == "alerts_evaluation"
    assert _follow(definitions, "after_build", instance, scoring) is None
    monkeypatch.setenv("RINGSIDE_SCORING_INTERVAL_MINUTES", "0")
    get_settings.cache_clear()
    assert follow_build() == "ml_scoring"
