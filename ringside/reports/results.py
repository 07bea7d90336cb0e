"""Running a report: resolve its date range, compile it, read the rows. Results are
cached per definition and data version (stamped by every successful build), so a new
build invalidates them without anyone having to."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from ringside.insights.sql import Reader
from ringside.reports.compiler import CompiledQuery, compile_report, last_day_sql, source_of
from ringside.reports.definition import ReportQuery

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
    generated_at: datetime


_lock = threading.Lock()
_results: OrderedDict[tuple[str, ...], ReportResult] = OrderedDict()
_last_days: dict[tuple[str, str], date | None] = {}


def today_utc() -> date:
    return datetime.now(UTC).date()


def last_data_day(reader: Reader, source: str, data_version: str | None) -> date | None:
    """The newest day `source` holds (the anchor of relative ranges), once per version."""
    key = (source, data_version or "")
    if data_version is not None and key in _last_days:
        return _last_days[key]
    (row,) = reader.rows(last_day_sql(source), {})
    day = row["last_day"]
    if isinstance(day, datetime):
        day = day.date()
    if data_version is not None:
        _last_days[key] = day
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
    key = (query.model_dump_json(), data_version or "", today.isoformat())
    if data_version is not None:
        with _lock:
            if key in _results:
                _results.move_to_end(key)
                return _results[key].model_copy(update={"cached": True})
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
    if data_version is not None:
        with _lock:
            _results[key] = result
            while len(_results) > CACHE_SIZE:
                _results.popitem(last=False)
    return result
