"""FastAPI dependencies and parameter types shared by the routers (swap the
dependencies in tests via dependency_overrides)."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query
from pydantic import AfterValidator

from api.errors import invalid
from ringside.core.settings import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]


def app_settings(app: FastAPI) -> Settings:
    """The settings `app`'s routes see (``get_settings`` or its override), for code that
    runs outside dependency injection or must not pay FastAPI's thread hop for a sync
    dependency."""
    factory = app.dependency_overrides.get(get_settings, get_settings)
    settings: Settings = factory()
    return settings


# Ids are 64-bit integers in every database the app uses: a larger one cannot name a row
# (and would overflow the driver), so it is refused like any other malformed id.
MAX_ID = 2**63 - 1
# Days a request may name: the engines widen ranges by conversion windows and retention
# periods, and dates stop at year 9999 (Python's) or before, so far days are refused.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def id_path(what: str) -> Any:
    """A path parameter naming a row by its id."""
    return Path(ge=1, le=MAX_ID, description=f"The {what}'s id.")


def id_query(description: str) -> Any:
    """A query parameter naming a row by its id."""
    return Query(ge=1, le=MAX_ID, description=description)


def _in_range(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"the day must be between {FIRST_DAY} and {LAST_DAY}")
    return day


Day = Annotated[date, AfterValidator(_in_range)]


def _instant_in_range(instant: datetime) -> datetime:
    # Checked before any time zone conversion, which overflows at the ends of time.
    _in_range(instant.date())
    return instant


Instant = Annotated[datetime, AfterValidator(_instant_in_range)]


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date


def date_range(
    start: Annotated[Day, Query(description="First UTC day (inclusive).")],
    end: Annotated[Day, Query(description="Last UTC day (inclusive).")],
) -> DateRange:
    if end < start:
        raise invalid("query", "end", "end must not be before start", end.isoformat())
    return DateRange(start, end)


DateRangeDep = Annotated[DateRange, Depends(date_range)]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    descending: bool


def page(
    limit: Annotated[int, Query(ge=1, le=1000, description="Rows per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Rows to skip.")] = 0,
    order: Annotated[Literal["asc", "desc"], Query(description="Sort direction.")] = "desc",
) -> Page:
    return Page(limit, offset, order == "desc")


PageDep = Annotated[Page, Depends(page)]
