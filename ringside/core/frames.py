"""The DataFrames the suites validate: one run's landed events and quarantine rates (read
from the landed Parquet with DuckDB, whichever warehouse is configured) and queries of
the built warehouse (DuckDB read-only, or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from ringside.core.layout import Layout

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


def day_ranges(days: Sequence[date], *, longest: int = 7) -> list[tuple[date, date]]:
    """The days as inclusive ranges of consecutive days, at most ``longest`` days each;
    one empty range (first after last) when there are none, so a suite still runs once,
    on no rows."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and day - ranges[-1][1] == timedelta(days=1):
            first, _ = ranges[-1]
            if (day - first).days < longest:
                ranges[-1] = (first, day)
                continue
        ranges.append((day, day))
    return ranges or [(date.max, date.min)]


def landed_events(paths: Sequence[Path]) -> pd.DataFrame:
    """The events of the given landed files, with the derived columns the raw suites
    need (``user_or_anonymous_id``, ``seconds_ahead_of_receipt``, ``track_event``)."""
    files = [str(path) for path in paths]
    if not files:
        return duckdb.sql(
            f"select {_EVENT_COLUMNS} from (select null::varchar as message_id, null::varchar "
            "as type, null::varchar as event, null::varchar as previous_id, null::varchar as "
            "anonymous_id, null::varchar as user_id, null::timestamp as event_time, "
            "null::timestamp as received_at, null::varchar as source, null::varchar as "
            "source_ref) where false"
        ).df()
    return duckdb.sql(f"select {_EVENT_COLUMNS} from read_parquet({files!r})").df()


_RATE_COLUMNS = ["ingested_date", "landed", "quarantined", "received", "quarantine_rate"]


def ingestion_rates(layout: Layout) -> pd.DataFrame:
    """Per UTC day of ingestion, every day so far: lines landed, quarantined, received
    (both) and the quarantine rate quarantined / received.

    Arrival is counted by ingestion time on both sides: quarantined lines only have the
    time Ringside received them (a rejected line's own receivedAt is not trusted), which
    is a batch file's ingestion time, not the receivedAt its valid lines carry. The
    quarantine check and the invalid-event-rate series of the ML anomalies both read this.
    """
    landed = _per_day(layout.raw_events_glob, "ingested_at", "landed")
    quarantined = _per_day(layout.quarantine_glob, "received_at", "quarantined")
    counts = landed.merge(quarantined, on="ingested_date", how="outer").fillna(0)
    counts = counts.astype({"landed": "int64", "quarantined": "int64"})
    counts["received"] = counts["landed"] + counts["quarantined"]
    counts["quarantine_rate"] = counts["quarantined"] / counts["received"]
    return counts.sort_values("ingested_date", ignore_index=True)[_RATE_COLUMNS]


def quarantine_rates(layout: Layout, days: Sequence[date]) -> pd.DataFrame:
    """``ingestion_rates`` of the ingestion days that fed the given event days."""
    files = [str(path) for paths in layout.landed_event_files(days=days).values() for path in paths]
    if not files:
        return pd.DataFrame(columns=_RATE_COLUMNS)
    fed = duckdb.sql(
        f"select distinct cast(ingested_at as date) from read_parquet({files!r})"
    ).fetchall()
    rates = ingestion_rates(layout)
    return rates[rates["ingested_date"].isin({day.isoformat() for (day,) in fed})].reset_index(
        drop=True
    )


def _per_day(glob: str, column: str, name: str) -> pd.DataFrame:
    """Rows per UTC day of ``column`` in the Parquet files of ``glob`` (none: no rows)."""
    try:
        return duckdb.sql(
            f"select strftime(cast({column} as date), '%Y-%m-%d') as ingested_date, "
            f"count(*) as {name} from read_parquet('{glob}') group by 1"
        ).df()
    except duckdb.IOException:  # no file yet
        return pd.DataFrame({"ingested_date": pd.Series(dtype=str), name: pd.Series(dtype="int64")})
