"""What a saved report is (issue 9): the question (`ReportQuery`: metrics, dimensions,
filters, date range, grain, sort, limit, chart) and around it who owns and sees it, when
it is delivered and to whom (`ReportSpec`). Validated here once, for the API, the
scheduler and the compiler alike; whether the names exist is the compiler's business
(it knows the catalog)."""

from __future__ import annotations

import datetime as dt
from datetime import date, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator

from ringside.access.roles import Role
from ringside.alerts.rules import Channels

ReportType = Literal["table", "chart", "dashboard"]
ChartType = Literal["line", "bar", "area", "pie", "number", "table"]
# `total`: one row per dimension combination over the whole range (mart sources only).
ReportGrain = Literal["day", "week", "month", "total"]
Visibility = Literal["private", "shared", "public"]
ExportFormat = Literal["csv", "jsonl", "parquet", "xlsx", "pdf"]
RelativePreset = Literal[
    "today",
    "yesterday",
    "last_7_days",
    "last_14_days",
    "last_30_days",
    "last_90_days",
    "last_365_days",
    "week_to_date",
    "month_to_date",
    "quarter_to_date",
    "year_to_date",
    "last_week",
    "last_month",
]
MAX_LIMIT = 10_000
MAX_FILTER_VALUES = 1_000
FilterValue = Annotated[str, Field(max_length=500)] | int | float | bool
Name = Annotated[str, Field(min_length=1, max_length=200)]


class AbsoluteRange(BaseModel):
    type: Literal["absolute"] = "absolute"
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> AbsoluteRange:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self

    def resolve(self, last_data_day: date | None, today: date) -> tuple[date, date]:
        return self.start, self.end


class RelativeRange(BaseModel):
    """A range that moves: `last_30_days` is the 30 days ending on the anchor day,
    `month_to_date` the anchor's month up to it, `last_month` the calendar month before
    the anchor's. The anchor is the last day the warehouse holds data for (default, so a
    report over imported history is never empty, as the executive summaries do), or
    today (UTC)."""

    type: Literal["relative"] = "relative"
    preset: RelativePreset
    relative_to: Literal["last_data_day", "today"] = "last_data_day"

    def resolve(self, last_data_day: date | None, today: date) -> tuple[date, date]:
        anchor = last_data_day if self.relative_to == "last_data_day" and last_data_day else today
        match self.preset:
            case "today":
                return anchor, anchor
            case "yesterday":
                day = anchor - timedelta(days=1)
                return day, day
            case "week_to_date":
                return anchor - timedelta(days=anchor.weekday()), anchor
            case "month_to_date":
                return anchor.replace(day=1), anchor
            case "quarter_to_date":
                return anchor.replace(month=(anchor.month - 1) // 3 * 3 + 1, day=1), anchor
            case "year_to_date":
                return anchor.replace(month=1, day=1), anchor
            case "last_week":
                monday = anchor - timedelta(days=anchor.weekday() + 7)
                return monday, monday + timedelta(days=6)
            case "last_month":
                end = anchor.replace(day=1) - timedelta(days=1)
                return end.replace(day=1), end
            case _:
                days = int(self.preset.split("_")[1])
                return anchor - timedelta(days=days - 1), anchor


DateRange = Annotated[AbsoluteRange | RelativeRange, Field(discriminator="type")]


class Filter(BaseModel):
    """Keep rows whose `dimension` matches: values travel as bound parameters."""

    dimension: str = Field(min_length=1, max_length=100)
    operator: Literal["equals", "not_equals", "in", "not_in", "contains"] = "in"
    values: list[FilterValue] = Field(min_length=1, max_length=MAX_FILTER_VALUES)

    @model_validator(mode="after")
    def _arity(self) -> Filter:
        if self.operator in ("equals", "not_equals", "contains") and len(self.values) != 1:
            raise ValueError(f"operator {self.operator!r} takes exactly one value")
        return self


class Sort(BaseModel):
    field: str = Field(min_length=1, max_length=100)
    direction: Literal["asc", "desc"] = "desc"


class ReportQuery(BaseModel):
    """The question a report asks. Metrics are business metrics of the catalog
    (`/api/analytics/business/catalog`, e.g. `dau`) or measures of a declared mart
    source written `source.measure` (e.g. `content.views`; `GET
    /api/analytics/reports/catalog` lists them); one report reads one source.

    Periods: mart sources bucket the rows inside the date range by day, ISO week or
    month, so the first and last buckets may cover part of a period (as GA and PostHog
    do); business metrics are whole-period values (a week's MAU is the one on its last
    day), so a week or month report shows every period the range overlaps, whole."""

    metrics: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=20
    )
    dimensions: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=3
    )
    filters: list[Filter] = Field(default_factory=list, max_length=20)
    date_range: DateRange = Field(default_factory=lambda: RelativeRange(preset="last_30_days"))
    grain: ReportGrain = "day"
    sort: list[Sort] = Field(default_factory=list, max_length=5)
    limit: int = Field(default=1000, ge=1, le=MAX_LIMIT)
    chart_type: ChartType | None = None


class Schedule(BaseModel):
    """When a report is generated and delivered, in its own timezone."""

    frequency: Literal["daily", "weekly", "monthly"]
    time: dt.time = Field(default=dt.time(7, 0), description="Local time of day.")
    timezone: str = Field(default="UTC", description="IANA timezone, e.g. Europe/London.")
    weekday: int = Field(default=0, ge=0, le=6, description="Weekly: 0 = Monday.")
    day_of_month: int = Field(default=1, ge=1, le=28, description="Monthly: day 1-28.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (IANA name, e.g. UTC)") from None
        return value

    def cron(self) -> str:
        """The schedule as a cron expression (evaluated in `timezone`)."""
        day_of_month = str(self.day_of_month) if self.frequency == "monthly" else "*"
        # cron counts Sunday as 0; ISO (and Python) Monday as 0.
        day_of_week = str((self.weekday + 1) % 7) if self.frequency == "weekly" else "*"
        return f"{self.time.minute} {self.time.hour} {day_of_month} * {day_of_week}"


class Recipients(Channels):
    """Who receives a scheduled report: email addresses (the files attached, or a link
    to a share page) and webhooks (the rows as JSON plus links to the files)."""

    email_mode: Literal["attachment", "link"] = "attachment"
    formats: list[ExportFormat] = Field(default_factory=lambda: ["pdf"], min_length=1)


class ReportSpec(ReportQuery):
    """A report as created through the API (the owner is the calling key's principal)."""

    name: Name
    description: str = Field(default="", max_length=5000)
    type: ReportType = "table"
    schedule: Schedule | None = None
    recipients: Recipients = Field(default_factory=Recipients)
    visibility: Visibility = Field(
        default="private",
        description="private: owner and admins; shared: also shared_with_roles (and the "
        "roles above them: viewer < analyst < admin) and shared_with_users; public: every "
        "API key.",
    )
    shared_with_roles: list[Role] = Field(default_factory=list)
    shared_with_users: list[
        Annotated[int, Field(ge=1, le=2**63 - 1)] | Annotated[str, Field(max_length=100)]
    ] = Field(
        default_factory=list,
        description="Principals who may read a shared report: ids, or names (saved as the id "
        "of the one principal of that name holding an active key). Read back as ids.",
    )
    partner: str | None = Field(
        default=None, description="Slug of the partner whose branding the output carries."
    )

    def query(self) -> ReportQuery:
        return ReportQuery.model_validate(self.model_dump(include=set(ReportQuery.model_fields)))


Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", examples=["#1f2937"])]


class Branding(BaseModel):
    """How rendered output (PDF, HTML, shared pages) looks: Ringside's own, or a
    partner's (white-label, the `partners` table)."""

    name: str = "Ringside"
    logo_url: str | None = None
    primary_colour: Colour = "#1f2937"
    accent_colour: Colour = "#c62828"
    footer: str | None = None
