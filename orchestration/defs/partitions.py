"""Time slicing shared by every event-derived asset."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dagster import DailyPartitionsDefinition, TimeWindow

from ringside.settings import get_settings


def first_partition_day() -> date:
    """RINGSIDE_PARTITIONS_START when set, else the earliest landed day when the
    definitions load (today before anything landed): history imports get their days and
    the Dagster UI shows no empty days before the data. A process that keeps its
    definitions (`dagster dev`) picks up an earlier import at its next code reload."""
    settings = get_settings()
    if settings.partitions_start is not None:
        return settings.partitions_start
    return settings.layout.first_landed_day() or datetime.now(UTC).date()


# end_offset=1: today's partition exists while the day is still running, so the hourly
# schedule can keep it fresh; late events are re-read through dbt's lookback window.
daily_partitions = DailyPartitionsDefinition(
    start_date=first_partition_day().isoformat(), end_offset=1, timezone="UTC"
)


def window_dates(window: TimeWindow) -> tuple[date, date]:
    """Inclusive first and last day of a partition time window (its end is exclusive)."""
    return window.start.date(), (window.end - timedelta(days=1)).date()
