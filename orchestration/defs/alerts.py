"""The `alerts_evaluation` job: evaluates every enabled rule (ringside/alerts). The job
chain (orchestration/chain.py) runs it after each build, failed ones included, once
`ml_scoring` has succeeded when the build was followed by scoring."""

from dagster import Definitions, OpExecutionContext, job, op

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


defs = Definitions(
    jobs=[alerts_evaluation],
)
