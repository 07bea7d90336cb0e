"""Run Ringside's Dagster job in-process against the persistent instance under
RINGSIDE_HOME, so runs started from the CLI show up in the Dagster UI."""

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ringside.core.build_state import build_days
from ringside.core.layout import Layout
from ringside.core.settings import get_settings

if TYPE_CHECKING:
    from dagster import AssetCheckEvaluation, ExecuteInProcessResult

    from ringside.alerts.service import EvaluationSummary

REPO_ROOT = Path(__file__).resolve().parents[1]
ALERTS_JOB = "alerts_evaluation"


class BuildError(RuntimeError):
    """A build could not start or did not succeed."""


class BuildRunFailedError(BuildError):
    """A build run started and failed (recorded in the build status; nothing published)."""


@dataclass(frozen=True)
class CheckTally:
    """Asset check evaluations of a run: a failed check of warning severity (input
    flagged, e.g. a content type outside the tracking plan) is counted apart from the
    failures, which are named."""

    passed: int
    warned: int
    failed: tuple[str, ...]  # "asset:check"

    @classmethod
    def of(cls, evaluations: "list[AssetCheckEvaluation]") -> "CheckTally":
        from dagster import AssetCheckSeverity

        failing = [e for e in evaluations if not e.passed]
        return cls(
            passed=len(evaluations) - len(failing),
            warned=sum(1 for e in failing if e.severity == AssetCheckSeverity.WARN),
            failed=tuple(
                f"{e.asset_key.to_user_string()}:{e.check_name}"
                for e in failing
                if e.severity != AssetCheckSeverity.WARN
            ),
        )

    def line(self) -> str:
        failed = f" ({', '.join(self.failed)})" if self.failed else ""
        return (
            f"{self.passed} checks passed, {self.warned} warned, {len(self.failed)} failed{failed}"
        )


@dataclass(frozen=True)
class BuildOutcome:
    run_id: str
    days: list[date]
    materialized: int
    checks: CheckTally


def configure_dagster_home(layout: Layout) -> Path:
    """Point DAGSTER_HOME at RINGSIDE_HOME/dagster with the repo's instance config in it:
    dagster_postgres.yaml when RINGSIDE_DAGSTER_PG_URL is set, else dagster.yaml."""
    config = "dagster_postgres.yaml" if get_settings().dagster_pg_url else "dagster.yaml"
    layout.dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / config, layout.dagster_home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(layout.dagster_home)
    return layout.dagster_home


def landed_days(layout: Layout) -> list[date]:
    days = sorted(layout.landed_event_files())
    if not days:
        raise BuildError(
            f"no landed events under {layout.raw_events_dir}; run `ringside ingest PATH` first"
        )
    return days


def run_build(
    days: list[date] | None = None, *, full_refresh: bool = False, drill: bool = False
) -> BuildOutcome:
    """Register landed events and build every dbt model in one run, reading the given
    event days' landed files (default: the days landed since the last build of the
    database it writes, orchestration/defs/window.py). `drill` fails the build on
    purpose (DbtBuildConfig.drill).

    Settings come from the environment (``RINGSIDE_HOME`` …), exactly as the Dagster
    assets read them, so the CLI, `dagster dev` and this runner all see one home.
    """
    settings = get_settings()
    layout = settings.layout.ensure()
    configure_dagster_home(layout)

    # Imported late: loading the definitions needs DAGSTER_HOME and a parsed manifest.
    from dagster import DagsterInstance

    from orchestration.dbt_project import prepare_manifest

    prepare_manifest()
    from orchestration.definitions import defs
    from orchestration.defs.dbt import record_failed_run
    from orchestration.defs.window import days_tag

    if days is None:
        days = build_days(settings)
    job = defs.resolve_job_def("ringside_build")
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config={
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                "ops": {
                    "ringside_dbt_models": {
                        "config": {"full_refresh": full_refresh, "drill": drill}
                    }
                },
            },
            instance=instance,
            tags=days_tag(days),
            raise_on_error=False,
        )
        if not result.success:
            record_failed_run(instance, result.run_id)
    outcome = BuildOutcome(
        run_id=result.run_id,
        days=days,
        materialized=len(result.get_asset_materialization_events()),
        checks=CheckTally.of(result.get_asset_check_evaluations()),
    )
    if not result.success:
        raise BuildRunFailedError(f"build run {result.run_id} failed: {_failure_detail(result)}")
    return outcome


def _failure_detail(result: "ExecuteInProcessResult") -> str:
    """The first failed step's message; the dbt asset's Failure description names the
    failing models and tests."""
    for event in result.all_events:
        if event.is_step_failure:
            failure = event.step_failure_data
            if failure.user_failure_data and failure.user_failure_data.description:
                return failure.user_failure_data.description
            if failure.error:
                return failure.error.message.strip()
    return "see the run in the Dagster UI"


@dataclass(frozen=True)
class ChainOutcome:
    """What the job chain ran after a build: the jobs in order, the assets they
    materialized, their checks, and the alert evaluation's summary (None if it did not
    run)."""

    jobs: list[str]
    materialized: int
    checks: CheckTally
    alerts: "EvaluationSummary | None"


def run_chain(after: str, succeeded: bool, *, scoring: bool = True) -> ChainOutcome:
    """Walk the job chain (orchestration/chain.py) in process after a run of ``after``,
    as its sensors do under `dagster dev`. A due retraining (``training_due``) runs before
    `ml_scoring`, as the weekly schedule would have under `dagster dev`; a failed run
    stops the rest with a BuildError."""
    configure_dagster_home(get_settings().layout.ensure())
    from dagster import DagsterInstance

    from orchestration.chain import follow_ups
    from orchestration.definitions import defs
    from orchestration.defs.ml import ml_scoring, ml_training, training_due

    jobs: list[str] = []
    results: list[ExecuteInProcessResult] = []

    def execute(name: str) -> None:
        result = defs.resolve_job_def(name).execute_in_process(
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            instance=instance,
            raise_on_error=False,
        )
        if not result.success:
            raise BuildError(f"{name} run {result.run_id} failed; see the Dagster UI")
        jobs.append(name)
        results.append(result)

    with DagsterInstance.get() as instance:
        queue = follow_ups(after, succeeded, instance, scoring=scoring)
        while queue:
            name = queue.pop(0)
            if name == ml_scoring.name and training_due(get_settings().layout):
                execute(ml_training.name)
            execute(name)
            queue += follow_ups(name, True, instance, scoring=scoring)
    alerts = next(
        (
            result.output_for_node("evaluate_alert_rules")
            for name, result in zip(jobs, results, strict=True)
            if name == ALERTS_JOB
        ),
        None,
    )
    checks = [c for result in results for c in result.get_asset_check_evaluations()]
    return ChainOutcome(
        jobs,
        sum(len(result.get_asset_materialization_events()) for result in results),
        CheckTally.of(checks),
        alerts,
    )
