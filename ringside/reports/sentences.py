"""Plain sentences from figures: pure functions from numbers to words.

"Signups fell 18% week over week to 230, below target by 7%."
"""

from __future__ import annotations

from typing import Literal

Unit = Literal["count", "usd", "ratio", "seconds"]
Direction = Literal["up", "down"]
# A change or gap that rounds to 0% is reported as flat / on target rather than "0%".
_NEGLIGIBLE = 0.005


def format_value(value: float, unit: str) -> str:
    """A figure as leadership reads it: 1,234 / $1,234 / 12.3% / 95 s."""
    if unit == "usd":
        return f"${value:,.0f}" if abs(value) >= 100 or value == 0 else f"${value:,.2f}"
    if unit == "ratio":
        return f"{value:.1%}" if abs(value) >= 0.01 else f"{value:.2%}"
    if unit == "seconds":
        return f"{value:,.0f} s"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.1f}"


def format_change(change: float) -> str:
    """A relative change as a whole percentage without sign: 0.183 -> '18%'."""
    return f"{abs(change):.0%}"


def growth(value: float, previous: float | None) -> float | None:
    """(value - previous) / previous; None without a comparison or when it is 0 (as in
    the business mart's growth columns)."""
    if previous is None or previous == 0:
        return None
    return (value - previous) / previous


def is_good_change(change: float, direction: Direction) -> bool:
    """Whether a change goes the way that is good for the metric (churn: down)."""
    return change > 0 if direction == "up" else change < 0


def target_status(
    value: float, target: float | None, tolerance: float | None, direction: Direction
) -> Literal["met", "within_tolerance", "missed", "no_target"]:
    """Met (on the good side of the target), within tolerance (on the bad side by at most
    ``tolerance`` of the target), or missed."""
    if target is None:
        return "no_target"
    gap = value - target
    if (gap >= 0) == (direction == "up") or gap == 0:
        return "met"
    if abs(gap) <= (tolerance or 0) * abs(target):
        return "within_tolerance"
    return "missed"


def kpi_sentence(
    label: str,
    value: float | None,
    previous: float | None,
    *,
    unit: Unit,
    direction: Direction,
    comparison: str,
    target: float | None = None,
    tolerance: float | None = None,
) -> str:
    """One sentence for a KPI: its change against the previous period and its gap to
    target."""
    if value is None:
        return f"{label}: no value for this period."
    shown = format_value(value, unit)
    change = growth(value, previous)
    if previous is None:
        clause = f"{label} was {shown}, with no earlier period to compare"
    elif change is None:  # previous == 0: a relative change is undefined
        clause = (
            f"{label} stayed at {shown} {comparison}"
            if value == 0
            else f"{label} rose from 0 to {shown} {comparison}"
        )
    elif abs(change) < _NEGLIGIBLE:
        clause = f"{label} was flat {comparison} at {shown}"
    else:
        verb = "rose" if change > 0 else "fell"
        clause = f"{label} {verb} {format_change(change)} {comparison} to {shown}"
    return clause + _target_clause(value, target, tolerance, direction) + "."


def _target_clause(
    value: float, target: float | None, tolerance: float | None, direction: Direction
) -> str:
    if target is None:
        return ", no target set"
    if target == 0:
        return f", against a target of {format_value(target, 'count')}"
    gap = value / target - 1
    if abs(gap) < _NEGLIGIBLE:
        return ", on target"
    remarks = []
    if target_status(value, target, tolerance, direction) == "within_tolerance":
        remarks.append("within tolerance")
    if direction == "down":
        remarks.append("lower is better")
    clause = f", {'above' if gap > 0 else 'below'} target by {format_change(gap)}"
    return clause + (f" ({'; '.join(remarks)})" if remarks else "")


def anomaly_sentence(
    series: str, day: str, actual: float, expected: float, direction: str, severity: str
) -> str:
    """'Signups dropped on 2026-11-18: 12 against about 40 expected (high severity).'"""
    verb = "spiked" if direction == "spike" else "dropped"
    unit = series_unit(series)
    return (
        f"{series_label(series)} {verb} on {day}: {format_value(actual, unit)} against "
        f"about {format_value(expected, unit)} expected ({severity} severity)."
    )


# The ML series (ml_anomalies, ml_forecasts) by name: how they read and their unit.
_SERIES: dict[str, tuple[str, Unit]] = {
    "active_users": ("Active users", "count"),
    "signups": ("Signups", "count"),
    "page_views": ("Page views", "count"),
    "revenue_usd": ("Revenue", "usd"),
    "invalid_event_rate": ("Invalid event rate", "ratio"),
}


def series_label(series: str) -> str:
    """ML series names for people: views_video -> 'Video views'."""
    if series.startswith("views_"):
        return f"{series.removeprefix('views_').replace('_', ' ').capitalize()} views"
    known = _SERIES.get(series)
    return known[0] if known else series.replace("_", " ").capitalize()


def series_unit(series: str) -> Unit:
    known = _SERIES.get(series)
    return known[1] if known else "count"
