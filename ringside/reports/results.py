"""Running a report: resolve its date range, compile it, read the rows. Results are
cached per definition and data version (stamped by every successful build), so a new
build invalidates them without anyone having to."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from ringside.core.cache import VersionedCache
from ringside.core.readers import Reader
from ringside.core.timestamps import UtcDateTime
from ringside.reports.compiler import CompiledQuery, compile_report
from ringside.reports.definition import ReportQuery
from ringside.reports.sources import last_day_sql, source_of

CACHE_SIZE = 256


class ResultColumn(BaseModel):
    name: str
    label: str
    kind: Literal["period", "dimension", "metric"]
    unit: str | None = None
    format: str | None = None


class ReportResult(BaseModel):
    columns: list[ResultColumn]
    rows: list[dict[str, Any]]
    row_count: int
    start: date | None
    end: date | None
    data_version: str | None
    cached: bool
    generated_at: UtcDateTime


_results: VersionedCache[ReportResult] = VersionedCache(CACHE_SIZE)
# The anchor day of relative ranges, per source (a miss recomputes it: None is not cached).
_last_days: VersionedCache[date] = VersionedCache(64)


def today_utc() -> date:
    return datetime.now(UTC).date()


def last_data_day(reader: Reader, source: str, data_version: str | None) -> date | None:
    """The newest day `source` holds (the anchor of relative ranges), once per version."""
    cached = _last_days.get(source, data_version)
    if cached is not None:
        return cached
    (row,) = reader.rows(last_day_sql(source), {})
    day = row["last_day"]
    if isinstance(day, datetime):
        day = day.date()
    if day is not None:
        _last_days.put(source, data_version, day)
    return day


def prepare(
    reader: Reader, query: ReportQuery, data_version: str | None, today: date | None = None
) -> CompiledQuery:
    """The compiled query with its relative range resolved (exports stream it)."""
    anchor = last_data_day(reader, source_of(query), data_version)
    return compile_report(query, anchor, today or today_utc())


def run_report(
    reader: Reader, query: ReportQuery, data_version: str | None, today: date | None = None
) -> ReportResult:
    """The report's rows, from the cache when this definition was run on this data
    version (and, for ranges relative to today, today)."""
    today = today or today_utc()
    key = (query.model_dump_json(), today.isoformat())
    cached = _results.get(key, data_version)
    if cached is not None:
        return cached.model_copy(update={"cached": True})
    compiled = prepare(reader, query, data_version, today)
    rows = [
        {name: float(value) if isinstance(value, Decimal) else value for name, value in row.items()}
        for row in reader.rows(compiled.sql, compiled.params)
    ]
    result = ReportResult(
        columns=[ResultColumn.model_validate(c, from_attributes=True) for c in compiled.columns],
        rows=rows,
        row_count=len(rows),
        start=compiled.start,
        end=compiled.end,
        data_version=data_version,
        cached=False,
        generated_at=datetime.now(UTC),
    )
    _results.put(key, data_version, result)
    return result
