"""Report periods: ISO weeks and calendar months."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["weekly", "monthly"]
GRAIN: dict[PeriodKind, Literal["week", "month"]] = {"weekly": "week", "monthly": "month"}


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # inclusive

    @property
    def grain(self) -> Literal["week", "month"]:
        """The grain of mart_business_metrics_daily that holds this period's values."""
        return GRAIN[self.kind]

    @property
    def label(self) -> str:
        """2026-W47 or 2026-11: the file name and the heading."""
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def comparison(self) -> str:
        """How a change against the previous period reads in a sentence."""
        return "week over week" if self.kind == "weekly" else "month over month"

    def previous(self) -> Period:
        return period_containing(self.kind, self.start - timedelta(days=1))


def period_containing(kind: PeriodKind, day: date) -> Period:
    if kind == "weekly":
        start = day - timedelta(days=day.weekday())
        return Period(kind, start, start + timedelta(days=6))
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return Period(kind, start, following - timedelta(days=1))


def latest_complete(kind: PeriodKind, last_day: date) -> Period:
    """The newest period that has fully elapsed by ``last_day`` (the last day of data)."""
    current = period_containing(kind, last_day)
    return current if current.end == last_day else current.previous()
