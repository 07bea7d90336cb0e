"""Timestamps as the API shows them: the application database stores naive UTC
(ringside.core.appdb.utcnow) and the warehouse naive UTC event times, while a JSON date-time
(RFC 3339) must carry its offset, so naive values are read as UTC."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
