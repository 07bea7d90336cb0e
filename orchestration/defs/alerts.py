"""Alerts after every build: the `alerts_evaluation` job evaluates every enabled rule
(ringside/alerts) after each successful build, once `ml_scoring` has succeeded when the
build was followed by scoring (so anomaly rules see the new `ml_anomalies` too); and
after every failed build, so the pipeline rules notify that it failed."""

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    Definitions,
    OpExecutionContext,
    RunFailureSensorContext,
    RunRequest,
    RunStatusSensorContext,
    job,
    op,
    run_failure_sensor,
    run_status_sensor,
)

from orchestration.chaining import run_after
from orchestration.defs.dbt import record_failed_run
from orchestration.defs.ml import ml_scoring, scoring_due
from ringside.alerts.service import EvaluationSummary, evaluate_alerts
from ringside.core.settings import get_settings


@op(description="Evaluate the alert rules, record transitions, deliver notifications.")
def evaluate_alert_rules(context: OpExecutionContext) -> EvaluationSummary:
    summary = evaluate_alerts(get_settings())
    context.log.info(summary.line())
    return summary


@job(description="Alert rules over the business metrics, ML anomalies and the pipeline.")
def alerts_evaluation() -> None:
    evaluate_alert_rules()


alerts_after_scoring = run_after("ml_scoring", alerts_evaluation, "alerts_after_scoring")


@run_status_sensor(
    name="after_build",
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=None,  # by name below, as run_after does: the build job is defined apart
    request_jobs=[ml_scoring, alerts_evaluation],
    default_status=DefaultSensorStatus.RUNNING,
    description="After every successful `ringside_build` run: `ml_scoring` when it is due "
    "(RINGSIDE_SCORING_INTERVAL_MINUTES; the alerts and summaries follow it), otherwise "
    "`alerts_evaluation` at once.",
)
def after_build(context: RunStatusSensorContext) -> RunRequest | None:
    run = context.dagster_run
    if run.job_name != "ringside_build":
        return None
    follow = ml_scoring if scoring_due(context.instance) else alerts_evaluation
    return RunRequest(run_key=f"after-{run.run_id}", job_name=follow.name)


@run_failure_sensor(
    name="alerts_after_failed_build",
    monitored_jobs=None,  # by name below, as run_after does: the build job is defined apart
    request_job=alerts_evaluation,
    default_status=DefaultSensorStatus.RUNNING,
    description="After every failed `ringside_build` run: records it in the build status "
    "when its dbt step did not (a blocking check stopped the run), then runs "
    "`alerts_evaluation` so the pipeline rules notify.",
)
def alerts_after_failed_build(context: RunFailureSensorContext) -> RunRequest | None:
    run = context.dagster_run
    if run.job_name != "ringside_build":
        return None
    record_failed_run(context.instance, run.run_id)
    return RunRequest(run_key=f"after-failed-{run.run_id}")


defs = Definitions(
    jobs=[alerts_evaluation],
    sensors=[after_build, alerts_after_scoring, alerts_after_failed_build],
)
