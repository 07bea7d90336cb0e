"""Timestamps as the API shows them: RFC 3339 with the offset, always UTC, written `Z`
(`2026-12-07T20:15:00Z`; pydantic adds the fraction, `.123456Z`, only when there is one).
The application database stores naive UTC (ringside.core.appdb.utcnow) and the warehouse
naive UTC event times, so naive values are read as UTC; aware ones (DuckDB gives
`timestamptz` in the session's time zone, ML records carry `+00:00`) are converted to it."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
