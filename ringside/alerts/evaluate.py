"""Deciding alerts: pure functions over the business metrics frame (the columns of
`mart_business_metrics_daily`), the `ml_anomalies` frame and the pipeline's health, and
the state machine."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from ringside.alerts.rules import SEVERITY_RANK, AlertState, RuleSpec
from ringside.core.pipeline_health import PipelineHealth

# Comparison -> (growth column, comparison value column) of the mart.
COMPARISON_COLUMNS = {
    "previous_period": ("growth_vs_previous_period", "previous_period_value"),
    "last_week": ("growth_vs_last_week", "same_period_last_week_value"),
    "last_month": ("growth_vs_last_month", "same_period_last_month_value"),
}
PERIOD_OVER_PERIOD = {"day": "day over day", "week": "week over week", "month": "month over month"}


@dataclass(frozen=True)
class Observation:
    """What a rule sees in the latest data: whether it fires, and why (in a sentence)."""

    firing: bool
    value: float | None
    period_start: date | None
    message: str


def observe(
    rule: RuleSpec,
    metrics: pd.DataFrame,
    anomalies: pd.DataFrame | None = None,
    pipeline: PipelineHealth | None = None,
) -> Observation | None:
    """The rule's verdict on the latest complete period of its metric slice (metric
    rules), on the reference day of the anomalies (anomaly rules) or on the last build
    (pipeline rules); None when there is nothing to judge (no complete period, no
    comparison value, no anomaly output, nothing built)."""
    if rule.kind == "pipeline":
        return None if pipeline is None else _observe_pipeline(rule, pipeline)
    if rule.kind == "anomaly":
        if anomalies is None:
            return None
        return _observe_anomaly(rule, anomalies, _latest_day(metrics))
    latest = _latest_period(rule, metrics)
    if latest is None:
        return None
    if rule.kind == "threshold":
        return _observe_threshold(rule, latest)
    return _observe_change(rule, latest)


def next_state(state: AlertState, firing: bool) -> AlertState | None:
    """The state machine: ok/resolved -> firing when the rule fires, firing -> resolved
    when it stops; None when nothing changes (a firing alert stays firing silently)."""
    if firing and state != "firing":
        return "firing"
    if not firing and state == "firing":
        return "resolved"
    return None


def _latest_period(rule: RuleSpec, metrics: pd.DataFrame) -> pd.Series | None:
    rows = metrics[
        (metrics["metric"] == rule.subject)
        & (metrics["grain"] == rule.grain)
        & (metrics["dimension"] == rule.dimension)
        & (metrics["dimension_value"] == rule.dimension_value)
        & metrics["is_complete"].astype(bool)
    ]
    if rows.empty:
        return None
    return rows.loc[pd.to_datetime(rows["period_start"]).idxmax()]


def _latest_day(metrics: pd.DataFrame) -> date | None:
    """The newest complete day of the metrics: the day anomaly rules look at."""
    days = metrics[(metrics["grain"] == "day") & metrics["is_complete"].astype(bool)]
    return None if days.empty else pd.to_datetime(days["period_start"]).max().date()


def _observe_threshold(rule: RuleSpec, row: pd.Series) -> Observation | None:
    params = rule.threshold
    value = _number(row["value"])
    if value is None:
        return None
    firing = value > params.value if params.operator == "above" else value < params.value
    unit = str(row.get("unit", "count"))
    relation = params.operator if firing else f"not {params.operator}"
    message = (
        f"{_label(row)} is {format_value(value, unit)}, {relation} "
        f"{format_value(params.value, unit)} ({_period(rule, row)})"
    )
    return Observation(firing, value, _day(row["period_start"]), message)


def _observe_change(rule: RuleSpec, row: pd.Series) -> Observation | None:
    params = rule.change
    growth_column, comparison_column = COMPARISON_COLUMNS[params.comparison]
    growth, value = _number(row[growth_column]), _number(row["value"])
    comparison = _number(row[comparison_column])
    if growth is None or value is None or comparison is None:
        return None
    limit = params.percent / 100
    firing = growth <= -limit if params.direction == "down" else growth >= limit
    verb = "fell" if growth < 0 else "rose"
    against = (
        PERIOD_OVER_PERIOD[rule.grain]
        if params.comparison == "previous_period"
        else f"vs the same {rule.grain} {params.comparison.replace('_', ' ')}"
    )
    unit = str(row.get("unit", "count"))
    message = (
        f"{_label(row)} {verb} {abs(growth):.0%} {against} "
        f"({format_value(value, unit)} vs {format_value(comparison, unit)}; "
        f"{_period(rule, row)})"
    )
    return Observation(firing, value, _day(row["period_start"]), message)


def _observe_anomaly(
    rule: RuleSpec, anomalies: pd.DataFrame, as_of: date | None
) -> Observation | None:
    """Judges `as_of` (the newest complete day of the metrics), or, without metrics, the
    newest day of the anomaly output; an anomaly older than that no longer fires."""
    params = rule.anomaly
    days = pd.to_datetime(anomalies["date"]).dt.date
    day = as_of or (None if anomalies.empty else days.max())
    if day is None:
        return None
    hits = anomalies[
        (anomalies["series"] == rule.subject)
        & (days == day)
        & (anomalies["severity"].map(SEVERITY_RANK) >= SEVERITY_RANK[params.min_severity])
    ]
    if params.direction is not None:
        hits = hits[hits["direction"] == params.direction]
    if hits.empty:
        kind = f"{params.direction} " if params.direction else ""
        message = (
            f"No {kind}anomaly of {rule.subject} at or above {params.min_severity} "
            f"severity on {day.isoformat()}"
        )
        return Observation(False, None, day, message)
    hit = hits.loc[hits["score"].abs().idxmax()]
    message = (
        f"Anomaly in {rule.subject} on {day.isoformat()}: {hit['actual']:,.0f} vs "
        f"{hit['expected']:,.0f} expected ({hit['direction']}, {hit['severity']} severity)"
    )
    return Observation(True, float(hit["actual"]), day, message)


def _observe_pipeline(rule: RuleSpec, pipeline: PipelineHealth) -> Observation | None:
    """build_failed: fires while the last build attempt failed, naming what failed;
    stale: fires while the served data is older than the rule's minutes (the value)."""
    build = pipeline.build
    served = (
        f"the build of {_moment(build.last_success_at)} is still served"
        if build.last_success_at
        else "no build succeeded yet"
    )
    failing = None
    if build.last_attempt and build.failing_since and not build.last_attempt.ok:
        failing = (
            f"builds failing since {_moment(build.failing_since)}, {served}; "
            f"run {build.last_attempt.run_id} failed: {build.failure_summary()}"
        )
    if rule.pipeline.condition == "build_failed":
        if build.last_attempt is None:
            return None
        if failing is None:
            message = f"The last build succeeded ({_moment(build.last_attempt.finished_at)})"
            return Observation(False, 0.0, None, message)
        return Observation(True, float(len(build.last_attempt.failures)), None, failing)
    if pipeline.data_age_seconds is None:
        return None
    minutes, limit = pipeline.data_age_seconds / 60, rule.pipeline.minutes or 0
    firing = minutes > limit
    message = (
        f"The served data is {minutes:,.0f} minutes old, "
        f"{'older than' if firing else 'within'} the {limit}-minute limit"
        + (f"; {failing}" if failing else "")
    )
    return Observation(firing, round(minutes, 1), None, message)


def _moment(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


def format_value(value: float, unit: str) -> str:
    if unit == "usd":
        return f"${value:,.2f}"
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "seconds":
        return f"{value:,.0f}s"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _label(row: pd.Series) -> str:
    label = row.get("label")
    return str(label) if isinstance(label, str) and label else str(row["metric"])


def _period(rule: RuleSpec, row: pd.Series) -> str:
    where = "" if rule.dimension == "all" else f", {rule.dimension}={rule.dimension_value}"
    return f"{rule.grain} of {_day(row['period_start']).isoformat()}{where}"


def _day(value: object) -> date:
    return pd.Timestamp(value).date()


def _number(value: object) -> float | None:
    """A float, or None for SQL NULL (None/NaN/NA)."""
    if value is None or value is pd.NA:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number
