"""Alerts after every build: the `alerts_evaluation` job evaluates every enabled rule
(ringside/alerts) once `ml_scoring` has succeeded, i.e. after each warehouse build has
been scored, so anomaly rules see the new `ml_anomalies` too."""

from dagster import (
    Definitions,
    OpExecutionContext,
    job,
    op,
)

from orchestration.chaining import run_after
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


alerts_after_scoring = run_after("ml_scoring", alerts_evaluation, "alerts_after_scoring")


defs = Definitions(jobs=[alerts_evaluation], sensors=[alerts_after_scoring])
