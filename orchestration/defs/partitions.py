"""Time slicing shared by every event-derived asset."""

from __future__ import annotations

from datetime import date, timedelta

from dagster import DailyPartitionsDefinition, TimeWindow

from ringside.settings import get_settings

# end_offset=1: today's partition exists while the day is still running, so the hourly
# schedule can keep it fresh; late events are re-read through dbt's lookback window.
daily_partitions = DailyPartitionsDefinition(
    start_date=get_settings().partitions_start.isoformat(), end_offset=1, timezone="UTC"
)


def window_dates(window: TimeWindow) -> tuple[date, date]:
    """Inclusive first and last day of a partition time window (its end is exclusive)."""
    return window.start.date(), (window.end - timedelta(days=1)).date()
