"""Evaluating every enabled rule against the warehouse, the ML output and the
pipeline's health (ringside/core/pipeline_health.py), recording transitions in the
application database and delivering their notifications."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringside.alerts.evaluate import next_state, observe
from ringside.alerts.notify import deliver, deliveries_for
from ringside.alerts.rules import RuleSpec
from ringside.core.appdb import session, utcnow
from ringside.core.appdb.alerts import AlertRule, AlertTransition
from ringside.core.appdb.notifications import NotificationDelivery
from ringside.core.ml_store import read_output
from ringside.core.pipeline_health import PipelineHealth, assess
from ringside.core.settings import Settings
from ringside.core.warehouse import read_frame

METRIC_COLUMNS = [
    "metric", "label", "unit", "grain", "period_start", "dimension", "dimension_value",
    "value", "previous_period_value", "same_period_last_week_value",
    "same_period_last_month_value", "growth_vs_previous_period", "growth_vs_last_week",
    "growth_vs_last_month", "is_complete",
]  # fmt: skip
MART = "mart_business_metrics_daily"


@dataclass(frozen=True)
class EvaluationSummary:
    fired: int  # ok/resolved -> firing in this evaluation
    resolved: int  # firing -> resolved
    firing: int  # still firing (already notified)
    ok: int  # not firing, no change
    no_data: int  # nothing to judge (no complete period, no comparison, no anomalies)
    invalid: int  # rules that no longer validate (e.g. a metric left the catalog)
    delivered: int
    failed: int

    def line(self) -> str:
        return (
            f"alerts: {self.fired} fired, {self.resolved} resolved, {self.firing} still "
            f"firing, {self.ok} ok, {self.no_data} without data, {self.invalid} invalid; "
            f"notifications {self.delivered} delivered, {self.failed} failed"
        )


def read_metrics(settings: Settings) -> pd.DataFrame:
    """The complete periods of the business metrics mart (no rows before it is built)."""
    if settings.warehouse == "duckdb" and not settings.layout.serving_path.exists():
        return pd.DataFrame(columns=METRIC_COLUMNS)
    exists = read_frame(
        settings,
        "select count(*) as n from information_schema.tables "
        f"where table_schema = current_schema() and table_name = '{MART}'",
    )
    if not int(exists["n"].iloc[0]):
        return pd.DataFrame(columns=METRIC_COLUMNS)
    return read_frame(settings, f"select {', '.join(METRIC_COLUMNS)} from {MART} where is_complete")


def read_anomalies(settings: Settings) -> pd.DataFrame | None:
    """ml_anomalies when the ML assets have produced it."""
    if not settings.layout.ml_table_path("ml_anomalies").exists():
        return None
    return read_output(settings.layout, "ml_anomalies")


def evaluate_alerts(
    settings: Settings,
    metrics: pd.DataFrame | None = None,
    anomalies: pd.DataFrame | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> EvaluationSummary:
    """Evaluate every enabled rule (on the given frames, else the warehouse and the ML
    output; pipeline rules on the recorded build status), record each state change with
    its message, then deliver the new notifications and retry the ones that failed before."""
    if metrics is None:
        metrics = read_metrics(settings)
    if anomalies is None:
        anomalies = read_anomalies(settings)
    pipeline = assess(settings)
    counts = dict.fromkeys(("fired", "resolved", "firing", "ok", "no_data", "invalid"), 0)
    with session(settings) as db:
        rules = db.scalars(select(AlertRule).where(AlertRule.enabled).order_by(AlertRule.id))
        for rule in rules:
            counts[_evaluate_rule(db, rule, metrics, anomalies, pipeline)] += 1
    delivered, failed = deliver_outstanding(settings, sleep)
    return EvaluationSummary(**counts, delivered=delivered, failed=failed)


def rule_spec(rule: AlertRule) -> RuleSpec:
    return RuleSpec(
        name=rule.name,
        kind=rule.kind,  # type: ignore[arg-type]  # validated on write
        subject=rule.subject,
        grain=rule.grain,  # type: ignore[arg-type]
        dimension=rule.dimension,
        dimension_value=rule.dimension_value,
        params=rule.params,
        channels=rule.channels,  # type: ignore[arg-type]
        enabled=rule.enabled,
    )


def _evaluate_rule(
    db: Session,
    rule: AlertRule,
    metrics: pd.DataFrame,
    anomalies: pd.DataFrame | None,
    pipeline: PipelineHealth,
) -> str:
    """Apply one rule; returns the summary bucket it falls in."""
    now = utcnow()
    rule.last_evaluated_at = now
    try:
        spec = rule_spec(rule)
    except ValidationError:
        return "invalid"
    seen = observe(spec, metrics, anomalies, pipeline)
    if seen is None:
        return "no_data"
    new_state = next_state(rule.state, seen.firing)  # type: ignore[arg-type]
    if new_state is None:
        return "firing" if rule.state == "firing" else "ok"
    transition = AlertTransition(
        rule_id=rule.id,
        rule_name=rule.name,
        from_state=rule.state,
        to_state=new_state,
        value=seen.value,
        period_start=seen.period_start,
        message=seen.message,
        created_at=now,
    )
    db.add(transition)
    db.flush()  # the id the deliveries point at
    db.add_all(deliveries_for(transition, spec.channels))
    rule.state, rule.state_since = new_state, now
    return "fired" if new_state == "firing" else "resolved"


def deliver_outstanding(
    settings: Settings, sleep: Callable[[float], None] = time.sleep
) -> tuple[int, int]:
    """Attempt every pending or failed delivery, oldest first, committing each outcome;
    returns (delivered, still failed)."""
    delivered = failed = 0
    with session(settings) as db:
        outstanding = db.scalars(
            select(NotificationDelivery.id)
            .where(NotificationDelivery.status.in_(("pending", "failed")))
            .order_by(NotificationDelivery.id)
        ).all()
    for delivery_id in outstanding:
        with session(settings) as db:
            delivery = db.get_one(NotificationDelivery, delivery_id)
            if deliver(settings, delivery, sleep):
                delivered += 1
            else:
                failed += 1
    return delivered, failed
