"""Alerts after every build: the `alerts_evaluation` job evaluates every enabled rule
(ringside/alerts) once `ml_scoring` has succeeded, i.e. after each warehouse build has
been scored, so anomaly rules see the new `ml_anomalies` too."""

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    Definitions,
    OpExecutionContext,
    RunRequest,
    RunStatusSensorContext,
    job,
    op,
    run_status_sensor,
)

from ringside.alerts.service import EvaluationSummary, evaluate_alerts
from ringside.settings import get_settings


@op(description="Evaluate the alert rules, record transitions, deliver notifications.")
def evaluate_alert_rules(context: OpExecutionContext) -> EvaluationSummary:
    summary = evaluate_alerts(get_settings())
    context.log.info(summary.line())
    return summary


@job(description="Alert rules over the business metrics and ML anomalies.")
def alerts_evaluation() -> None:
    evaluate_alert_rules()


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=None,
    request_job=alerts_evaluation,
    default_status=DefaultSensorStatus.RUNNING,
)
def alerts_after_scoring(context: RunStatusSensorContext) -> RunRequest | None:
    """Alerts after every successful `ml_scoring` run (which follows every build)."""
    if context.dagster_run.job_name != "ml_scoring":
        return None
    return RunRequest(run_key=f"after-{context.dagster_run.run_id}")


defs = Definitions(jobs=[alerts_evaluation], sensors=[alerts_after_scoring])
