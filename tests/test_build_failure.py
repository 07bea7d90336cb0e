"""A failed build is loud: a few hand-built events are built for real (dbt on DuckDB),
then a fire drill (`ringside build --drill`) fails the build on purpose. Readers keep
the last good data, while `ringside status`, /health and a pipeline alert rule (to a
real webhook receiver and SMTP server) say what failed and since when; the next good
build clears all of it."""

import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    RunRequest,
    build_run_status_sensor_context,
)
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from api.main import create_app
from ingestion.batch import ingest_paths
from ingestion.landing import remove_orphaned_temp_files
from orchestration.chain import SENSORS
from ringside.alerts.service import evaluate_alerts
from ringside.cli import app
from ringside.core.appdb.alerts import AlertTransition
from ringside.core.pipeline_health import (
    BuildAttempt,
    BuildStatus,
    FailedNode,
    read_build_status,
    record_attempt,
)
from ringside.core.settings import Settings, get_settings
from tests.platforms import platform_environment
from tests.receivers import smtp_server, webhook_receiver
from tests.test_alerts import add_rule, alert_settings, transitions
from tests.test_warehouse_handbuilt import EVENTS, write_ndjson

DRILL = "assert_pipeline_drill"
BUILD_FAILED_RULE = {
    "name": "build failed",
    "kind": "pipeline",
    "subject": "ringside_build",
    "params": {"condition": "build_failed"},
}

alerts_after_failed_build = next(s for s in SENSORS if s.name == "alerts_after_failed_build")


@dataclass(frozen=True)
class Observed:
    """What readers and operators saw after one build."""

    served_sha256: str
    served_rows: int
    status: Result
    health: dict[str, Any]


@dataclass(frozen=True)
class Drill:
    good: Observed
    failed: Observed
    recovered: Observed
    failed_build: Result
    transitions: list[AlertTransition]
    webhooks: list[tuple[str, Any]]
    mails: list[tuple[list[str], Any]]
    sensed: tuple[RunRequest | None, BuildStatus]


def observe(settings: Settings) -> Observed:
    served = settings.layout.serving_path
    with duckdb.connect(str(served), read_only=True) as con:
        (rows,) = con.execute("select count(*) from fct_events").fetchone()
    return Observed(
        served_sha256=hashlib.sha256(served.read_bytes()).hexdigest(),
        served_rows=rows,
        status=CliRunner().invoke(app, ["status"]),
        health=TestClient(create_app()).get("/health").json(),
    )


def sense_failed_build(settings: Settings) -> tuple[RunRequest | None, BuildStatus]:
    """What the run-failure sensor of `dagster dev` does with the failed drill run when
    its dbt step left no record (as after a blocking check failed before it): its answer
    and the build status it recorded. The step's record is put back afterwards."""
    recorded = settings.layout.build_status_path.read_text()
    instance = DagsterInstance.get()  # DAGSTER_HOME below the home
    run_id = read_build_status(settings.layout).last_attempt.run_id
    (failure,) = instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)
    settings.layout.build_status_path.unlink()
    context = build_run_status_sensor_context(
        sensor_name=alerts_after_failed_build.name,
        dagster_event=failure.dagster_event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
    ).for_run_failure()
    request = alerts_after_failed_build(context)
    sensed = read_build_status(settings.layout)
    settings.layout.build_status_path.write_text(recorded)
    return request, sensed


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    """One home built three times through the CLI (`build --no-models`): good, a fire
    drill, good again, with a `build_failed` pipeline rule notifying a webhook and mail."""
    root = tmp_path_factory.mktemp("drill")
    with ExitStack() as stack:
        hooks = stack.enter_context(webhook_receiver())
        mailbox, smtp_port = stack.enter_context(smtp_server())
        env = pytest.MonkeyPatch()
        stack.callback(env.undo)
        # Settings the CLI and the app read from the environment (platform_environment
        # below clears the cached ones).
        env.setenv("RINGSIDE_SMTP_HOST", "127.0.0.1")
        env.setenv("RINGSIDE_SMTP_PORT", str(smtp_port))
        env.setenv("RINGSIDE_ALERT_DELIVERY_BACKOFF_SECONDS", "0.01")
        settings = stack.enter_context(platform_environment(Settings(home=root / "home")))
        source = write_ndjson(root / "events.ndjson", EVENTS)
        ingest_paths([source], settings.layout.ensure(), settings)
        add_rule(
            settings,
            **BUILD_FAILED_RULE,
            channels={"webhooks": [{"url": hooks.url("/ops")}], "email": ["ops@ringside.test"]},
        )
        runner = CliRunner()

        def build(*args: str) -> Result:
            return runner.invoke(app, ["build", "--no-models", *args])

        assert build().exit_code == 0
        good = observe(settings)
        failed_build = build("--drill")
        failed = observe(settings)
        sensed = sense_failed_build(settings)
        assert build().exit_code == 0
        recovered = observe(settings)
        yield Drill(
            good,
            failed,
            recovered,
            failed_build,
            # The KPI targets' own alert rules (seeded with the demo targets) aside.
            [t for t in transitions(settings) if t.rule_name == BUILD_FAILED_RULE["name"]],
            list(hooks.received),
            list(mailbox.messages),
            sensed,
        )


def test_a_failed_build_keeps_serving_the_last_good_data(drill: Drill) -> None:
    assert drill.failed_build.exit_code != 0
    # The run failure names the failing check (the CLI prints it as the error).
    assert DRILL in str(drill.failed_build.exception)
    assert drill.failed.served_sha256 == drill.good.served_sha256
    assert drill.failed.served_rows == drill.good.served_rows == len(EVENTS)


def test_status_is_loud_about_a_failed_build(drill: Drill) -> None:
    assert drill.good.status.exit_code == 0, drill.good.status.output
    assert "last build         ok" in drill.good.status.output

    failed = drill.failed.status
    assert failed.exit_code == 1, failed.output
    assert "FAILED" in failed.output
    assert f"failed test {DRILL}" in failed.output
    assert "failing since" in failed.output

    assert drill.recovered.status.exit_code == 0
    assert "FAILED" not in drill.recovered.status.output


def test_health_is_degraded_naming_the_failing_check(drill: Drill) -> None:
    good, failed, recovered = drill.good.health, drill.failed.health, drill.recovered.health
    assert (good["status"], good["degraded"]) == ("ok", [])
    assert good["last_build"]["ok"] and good["data_age_seconds"] < 600

    assert failed["status"] == "degraded"
    assert len(failed["degraded"]) == 1 and DRILL in failed["degraded"][0]
    assert [(f["name"], f["resource_type"]) for f in failed["last_build"]["failures"]] == [
        (DRILL, "test")
    ]
    assert failed["failing_since"] == failed["last_build"]["finished_at"]
    assert failed["last_success_at"] == good["last_success_at"]
    # Readers still see the copy the good build published.
    assert failed["warehouse_published_at"] == good["warehouse_published_at"]

    assert (recovered["status"], recovered["degraded"], recovered["failing_since"]) == (
        "ok",
        [],
        None,
    )
    assert recovered["last_success_at"] > good["last_success_at"]


def test_the_pipeline_alert_fires_and_resolves(drill: Drill) -> None:
    assert [(t.from_state, t.to_state) for t in drill.transitions] == [
        ("ok", "firing"),
        ("firing", "resolved"),
    ]
    fired = drill.transitions[0].message
    assert DRILL in fired and "still served" in fired
    assert [(path, body["state"]) for path, body in drill.webhooks] == [
        ("/ops", "firing"),
        ("/ops", "resolved"),
    ]
    assert DRILL in drill.webhooks[0][1]["message"]
    (to, mail), _ = drill.mails
    assert (to, mail["Subject"]) == (["ops@ringside.test"], "[FIRING] build failed")
    assert DRILL in mail.get_payload(decode=True).decode()


def test_the_failure_sensor_records_an_unrecorded_failure_and_runs_the_alerts(
    drill: Drill,
) -> None:
    request, status = drill.sensed
    assert alerts_after_failed_build.job_name == "alerts_evaluation"
    assert request is not None and request.run_key == f"after-failed-{status.last_attempt.run_id}"
    assert status.failed
    # From the run's event log: the drill's dbt test is a check of fct_events.
    assert [(f.name, f.resource_type) for f in status.last_attempt.failures] == [
        (f"warehouse/fct_events:{DRILL}", "check")
    ]


def test_failing_since_is_kept_across_consecutive_failures(tmp_path: Path) -> None:
    layout = Settings(home=tmp_path).layout
    start = datetime(2026, 8, 4, 10, tzinfo=UTC)
    broken = [FailedNode(name="mart_x", resource_type="model", message="boom")]

    def attempt(run: str, minutes: int, failures: list[FailedNode]) -> BuildAttempt:
        at = start + timedelta(minutes=minutes)
        return BuildAttempt(
            run_id=run, started_at=at, finished_at=at, ok=not failures, failures=failures
        )

    assert read_build_status(layout).last_attempt is None
    record_attempt(layout, attempt("r1", 0, []))
    record_attempt(layout, attempt("r2", 60, broken))
    status = record_attempt(layout, attempt("r3", 120, broken))
    assert (status.failing_since, status.last_success_at) == (
        start + timedelta(minutes=60),
        start,
    )
    assert status.failure_summary() == "mart_x (model): boom"
    recovered = record_attempt(layout, attempt("r4", 180, []))
    assert (recovered.failing_since, recovered.last_success_at, recovered.failed) == (
        None,
        start + timedelta(minutes=180),
        False,
    )
    assert read_build_status(layout) == recovered


def test_fresh_home_health_is_ok_with_nothing_built(settings: Settings) -> None:
    health = api_health(settings)
    assert (health["status"], health["data_age_seconds"], health["last_build"]) == (
        "ok",
        None,
        None,
    )


def test_health_is_degraded_when_the_landing_disk_is_nearly_full(settings: Settings) -> None:
    health = api_health(settings.model_copy(update={"min_free_disk_mb": 2**40}))  # > any disk
    assert health["status"] == "degraded"
    assert health["landing_writable"] is True
    (reason,) = health["degraded"]
    assert "RINGSIDE_MIN_FREE_DISK_MB" in reason


def test_stale_served_data_degrades_health_and_fires_a_stale_alert(
    tmp_path: Path,
) -> None:
    settings = alert_settings(tmp_path, stale_after_minutes=60)
    served = settings.layout.serving_path
    served.parent.mkdir(parents=True)
    duckdb.connect(str(served)).close()  # empty: /health and the rule look at its age only
    two_hours_ago = time.time() - 2 * 3600
    os.utime(served, (two_hours_ago, two_hours_ago))

    health = api_health(settings)
    assert health["status"] == "degraded"
    assert 7100 < health["data_age_seconds"] < 7300
    assert health["degraded"] == [
        "served data is 120 minutes old (RINGSIDE_STALE_AFTER_MINUTES=60)"
    ]

    with webhook_receiver() as hooks:
        for minutes in (90, 180):
            add_rule(
                settings,
                name=f"stale {minutes}",
                kind="pipeline",
                subject="ringside_build",
                params={"condition": "stale", "minutes": minutes},
                channels={"webhooks": [{"url": hooks.url(f"/{minutes}")}]},
            )
        summary = evaluate_alerts(settings, anomalies=None)
    assert (summary.fired, summary.ok, summary.delivered) == (1, 1, 1)
    ((path, body),) = hooks.received
    assert path == "/90"
    assert body["message"] == "The served data is 120 minutes old, older than the 90-minute limit"


def test_pipeline_rule_params_are_validated() -> None:
    from pydantic import ValidationError

    from ringside.alerts.rules import RuleSpec

    for params in ({"condition": "stale"}, {"condition": "build_failed", "minutes": 5}):
        with pytest.raises(ValidationError, match=r"params\.minutes"):
            RuleSpec.model_validate({**BUILD_FAILED_RULE, "params": params})
    with pytest.raises(ValidationError, match="ringside_build"):
        RuleSpec.model_validate({**BUILD_FAILED_RULE, "subject": "new_signups"})


def test_orphaned_temp_files_are_removed_after_the_grace_period(settings: Settings) -> None:
    layout = settings.layout.ensure()
    day = layout.raw_events_partition(datetime(2026, 8, 4).date())
    day.mkdir(parents=True)
    orphan = day / ".batch.parquet.0123.tmp"
    live = day / ".batch.parquet.4567.tmp"  # a writer is still at it
    landed = day / "batch.parquet"
    snapshot_orphan = layout.snapshot_dir("content") / ".content.parquet.89ab.tmp"
    for path in (orphan, live, landed, snapshot_orphan):
        path.write_bytes(b"x")
    long_ago = time.time() - 2 * 3600
    for path in (orphan, landed, snapshot_orphan):
        os.utime(path, (long_ago, long_ago))

    assert sorted(remove_orphaned_temp_files(layout)) == sorted([orphan, snapshot_orphan])
    assert live.exists() and landed.exists()

    # The API removes them when it starts.
    os.utime(live, (long_ago, long_ago))
    with TestClient(create_app()):
        pass
    assert not live.exists() and landed.exists()


def api_health(settings: Settings) -> dict[str, Any]:
    application = create_app()
    application.dependency_overrides[get_settings] = lambda: settings
    response = TestClient(application).get("/health")
    assert response.status_code == 200  # degraded is still served
    return response.json()
