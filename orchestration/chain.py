"""The job chain, declared once: which job a finished run starts.

    ringside_build ─success─▶ ml_scoring when scoring is due, else alerts_evaluation
    ringside_build ─failure─▶ alerts_evaluation (the failure recorded first)
    ml_scoring     ─success─▶ executive_summaries, alerts_evaluation

Scoring is due every RINGSIDE_SCORING_INTERVAL_MINUTES (``scoring_due``): the models read
daily marts, so rescoring after every micro-batch would only take the CPU from the next
build. Under `dagster dev` the run-status sensors made here from :data:`LINKS` start each
follow-up; `ringside build` walks the same links in process (orchestration/runner.py).
"""

from collections.abc import Callable
from dataclasses import dataclass

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    JobDefinition,
    RunFailureSensorContext,
    RunRequest,
    RunStatusSensorContext,
    SensorDefinition,
    run_failure_sensor,
    run_status_sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,  # what define_asset_job returns; not exported by dagster
)

from orchestration.defs.alerts import alerts_evaluation
from orchestration.defs.dbt import record_failed_run
from orchestration.defs.ingestion import build_job
from orchestration.defs.ml import ml_scoring, scoring_due
from orchestration.defs.reports import executive_summaries

BUILD_JOB = build_job.name
Job = JobDefinition | UnresolvedAssetJobDefinition


@dataclass(frozen=True)
class Link:
    """After a run of ``after`` that succeeded (or failed), start ``choose``'s pick among
    ``jobs``. ``name`` is the sensor's name under `dagster dev`."""

    name: str
    after: str
    succeeded: bool
    jobs: tuple[Job, ...]
    choose: Callable[[DagsterInstance, bool], Job]
    description: str


def _after_build(instance: DagsterInstance, scoring: bool) -> Job:
    return ml_scoring if scoring and scoring_due(instance) else alerts_evaluation


LINKS = (
    Link(
        "after_build",
        BUILD_JOB,
        True,
        (ml_scoring, alerts_evaluation),
        _after_build,
        f"After every successful `{BUILD_JOB}` run: `ml_scoring` when it is due "
        "(RINGSIDE_SCORING_INTERVAL_MINUTES; the alerts and summaries follow it), otherwise "
        "`alerts_evaluation` at once.",
    ),
    Link(
        "alerts_after_failed_build",
        BUILD_JOB,
        False,
        (alerts_evaluation,),
        lambda _instance, _scoring: alerts_evaluation,
        f"After every failed `{BUILD_JOB}` run: records it in the build status when its dbt "
        "step did not (a blocking check stopped the run), then runs `alerts_evaluation` so "
        "the pipeline rules notify.",
    ),
    Link(
        "summarize_after_scoring",
        ml_scoring.name,
        True,
        (executive_summaries,),
        lambda _instance, _scoring: executive_summaries,
        "Runs `executive_summaries` after every successful `ml_scoring` run.",
    ),
    Link(
        "alerts_after_scoring",
        ml_scoring.name,
        True,
        (alerts_evaluation,),
        lambda _instance, _scoring: alerts_evaluation,
        "Runs `alerts_evaluation` after every successful `ml_scoring` run (so anomaly rules "
        "see the new `ml_anomalies`).",
    ),
)


def follow_ups(
    job_name: str, succeeded: bool, instance: DagsterInstance, *, scoring: bool = True
) -> list[str]:
    """The jobs a finished run of ``job_name`` starts, in order; ``scoring=False`` never
    picks `ml_scoring` (`ringside build --no-models`)."""
    return [
        link.choose(instance, scoring).name
        for link in LINKS
        if link.after == job_name and link.succeeded == succeeded
    ]


def _sensor(link: Link) -> SensorDefinition:
    # monitored_jobs=None and a name filter: the build job is defined apart from its
    # follow-ups, and a sensor may not monitor a job of another Definitions object.
    if link.succeeded:
        decorate = run_status_sensor(
            name=link.name,
            run_status=DagsterRunStatus.SUCCESS,
            monitored_jobs=None,
            request_jobs=list(link.jobs),
            default_status=DefaultSensorStatus.RUNNING,
            description=link.description,
        )
    else:
        decorate = run_failure_sensor(
            name=link.name,
            monitored_jobs=None,
            request_jobs=list(link.jobs),
            default_status=DefaultSensorStatus.RUNNING,
            description=link.description,
        )

    def follow(context: RunStatusSensorContext | RunFailureSensorContext) -> RunRequest | None:
        run = context.dagster_run
        if run.job_name != link.after:
            return None
        if not link.succeeded:
            record_failed_run(context.instance, run.run_id)
        job = link.choose(context.instance, True)
        prefix = "after" if link.succeeded else "after-failed"
        return RunRequest(run_key=f"{prefix}-{run.run_id}", job_name=job.name)

    return decorate(follow)


SENSORS = [_sensor(link) for link in LINKS]
