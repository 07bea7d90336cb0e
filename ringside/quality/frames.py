"""The DataFrames the suites validate: one run's landed events and quarantine rates (read
from the landed Parquet with DuckDB, whichever warehouse is configured) and queries of
the built warehouse (DuckDB read-only, or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import duckdb
import pandas as pd

from ringside.layout import Layout

# Landed columns the raw suites look at, plus the ones they derive.
_EVENT_COLUMNS = """
    message_id, type, event, previous_id, anonymous_id, user_id, event_time, received_at,
    coalesce(user_id, anonymous_id) as user_or_anonymous_id,
    date_diff('second', received_at, event_time) as seconds_ahead_of_receipt,
    case when type = 'track' then event end as track_event,
    source, source_ref
"""


def days_between(first_day: date, last_day: date) -> list[date]:
    return [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]


def day_chunks(window: tuple[date, date] | None, *, days: int = 7) -> list[tuple[date, date]]:
    """[first, last] split into inclusive ranges of at most ``days`` days; one empty range
    (first after last) when there is no window, so a suite still runs once, on no rows."""
    if window is None:
        return [(date.max, date.min)]
    first_day, last_day = window
    starts = days_between(first_day, last_day)[::days]
    return [(start, min(start + timedelta(days=days - 1), last_day)) for start in starts]


def landed_events(layout: Layout, days: Sequence[date]) -> pd.DataFrame:
    """The events landed for the given event days, with the derived columns the raw
    suites need (``user_or_anonymous_id``, ``seconds_ahead_of_receipt``, ``track_event``)."""
    files = [str(path) for paths in layout.landed_event_files(days=days).values() for path in paths]
    if not files:
        return duckdb.sql(
            f"select {_EVENT_COLUMNS} from (select null::varchar as message_id, null::varchar "
            "as type, null::varchar as event, null::varchar as previous_id, null::varchar as "
            "anonymous_id, null::varchar as user_id, null::timestamp as event_time, "
            "null::timestamp as received_at, null::varchar as source, null::varchar as "
            "source_ref) where false"
        ).df()
    return duckdb.sql(f"select {_EVENT_COLUMNS} from read_parquet({files!r})").df()


def quarantine_rates(layout: Layout, days: Sequence[date]) -> pd.DataFrame:
    """Quarantine rate of the arrivals that fed the given event days: for each UTC day on
    which their events were ingested, quarantined / (landed + quarantined) of everything
    ingested that day (``received`` = landed + quarantined).

    Arrival is counted by ingestion time on both sides: quarantined lines only have the
    time Ringside received them (a rejected line's own receivedAt is not trusted), which
    is a batch file's ingestion time, not the receivedAt its valid lines carry.
    """
    files = [str(path) for paths in layout.landed_event_files(days=days).values() for path in paths]
    ingest_days = (
        [
            row[0]
            for row in duckdb.sql(
                f"select distinct cast(ingested_at as date) from read_parquet({files!r}) order by 1"
            ).fetchall()
        ]
        if files
        else []
    )
    all_landed = [str(p) for paths in layout.landed_event_files().values() for p in paths]
    rows = []
    for day in ingest_days:
        landed = _count(all_landed, "ingested_at", day)
        quarantined = _count(
            [str(p) for p in sorted(layout.quarantine_partition(day).glob("*.parquet"))],
            "received_at",
            day,
        )
        rows.append(
            {
                "ingested_date": day.isoformat(),
                "landed": landed,
                "quarantined": quarantined,
                "received": landed + quarantined,
                "quarantine_rate": quarantined / (landed + quarantined),
            }
        )
    return pd.DataFrame(
        rows, columns=["ingested_date", "landed", "quarantined", "received", "quarantine_rate"]
    )


def _count(files: list[str], column: str, day: date) -> int:
    """Rows of ``files`` whose ``column`` falls on ``day`` (DuckDB skips row groups
    outside the day by their statistics)."""
    if not files:
        return 0
    return duckdb.execute(
        f"select count(*) from read_parquet({files!r}) "
        f"where {column} >= cast(? as timestamp) and {column} < cast(? as timestamp)",
        [day.isoformat(), (day + timedelta(days=1)).isoformat()],
    ).fetchone()[0]
