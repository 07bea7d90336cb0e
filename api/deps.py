"""FastAPI dependencies shared by the routers (swap them in tests via dependency_overrides)."""

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query

from ringside.settings import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date


def date_range(
    start: Annotated[date, Query(description="First UTC day (inclusive).")],
    end: Annotated[date, Query(description="Last UTC day (inclusive).")],
) -> DateRange:
    if end < start:
        raise HTTPException(status_code=422, detail="end must not be before start")
    return DateRange(start, end)


DateRangeDep = Annotated[DateRange, Depends(date_range)]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    descending: bool


def page(
    limit: Annotated[int, Query(ge=1, le=1000, description="Rows per page.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Rows to skip.")] = 0,
    order: Annotated[Literal["asc", "desc"], Query(description="Sort direction.")] = "desc",
) -> Page:
    return Page(limit, offset, order == "desc")


PageDep = Annotated[Page, Depends(page)]
