"""The expectation suites, as data: each names a Great Expectations expectation and its
arguments, so this module (and the Dagster definitions built from it) load without
importing great_expectations.

The frames they validate are built by :mod:`ringside.core.frames`; columns that are
not in the landed files or the marts (``user_or_anonymous_id``,
``seconds_ahead_of_receipt``, ``previous_step_users``…) are derived there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Segment's event types (docs/events.md): anything else must never reach the warehouse.
EVENT_TYPES = ("track", "page", "screen", "identify", "alias")
# The demo tracking plan (docs/events.md, "Tracking plan"). It grows with the product, so an
# unknown name warns instead of blocking the build.
TRACKING_PLAN_EVENTS = (
    "Page Heartbeat",
    "Products Searched",
    "Search Result Clicked",
    "Content Shared",
    "Content Liked",
    "Comment Posted",
    "Video Playback Started",
    "Video Content Completed",
    "Signed Up",
    "Subscription Started",
    "Subscription Cancelled",
    "Order Completed",
    "Experiment Viewed",
)
# The kwargs that say which column(s) an expectation is about (unique within a suite).
_LABEL_KWARGS = ("column", "column_A", "column_B")


class QualitySettings(BaseSettings):
    """Thresholds of the raw-event checks (environment, prefix ``RINGSIDE_QUALITY_``)."""

    model_config = SettingsConfigDict(env_prefix="RINGSIDE_QUALITY_", extra="ignore")

    max_quarantine_rate: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Largest share of a day's received events that may be quarantined. "
        "The demo generator corrupts 0.5 %; a broken SDK release shows up as tens of %.",
    )
    quarantine_min_received: int = Field(
        default=100,
        ge=0,
        description="Days with fewer arrivals are not judged: one bad line among a dozen "
        "is not a broken client.",
    )


@dataclass(frozen=True)
class Expectation:
    kind: str
    """GE expectation type in snake case, e.g. ``expect_column_values_to_not_be_null``."""
    kwargs: Mapping[str, Any]
    where: tuple[str, Literal["==", ">="], Any] | None = None
    """Only rows where ``column op value`` holds are judged (a GE row condition)."""

    @property
    def gx_class_name(self) -> str:
        """``expect_column_values_to_not_be_null`` -> ``ExpectColumnValuesToNotBeNull``."""
        return "".join(part.capitalize() for part in self.kind.split("_"))

    @property
    def label(self) -> str:
        return self.label_of(self.kind, self.kwargs)

    @staticmethod
    def label_of(kind: str, kwargs: Mapping[str, Any]) -> str:
        """``kind(column=…, …)`` — the same for a suite's expectation and GE's result."""
        args = ", ".join(f"{k}={kwargs[k]}" for k in _LABEL_KWARGS if kwargs.get(k))
        return f"{kind}({args})"


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    expectations: tuple[Expectation, ...]
    severity: Literal["error", "warn"] = "error"
    blocking: bool = False
    """A failure stops what is built from the checked data in the same run."""


def not_null(
    column: str, *, where: tuple[str, Literal["==", ">="], Any] | None = None
) -> Expectation:
    return Expectation("expect_column_values_to_not_be_null", {"column": column}, where)


def between(
    column: str,
    low: float | None,
    high: float | None,
    *,
    where: tuple[str, Literal["==", ">="], Any] | None = None,
) -> Expectation:
    return Expectation(
        "expect_column_values_to_be_between",
        {"column": column, "min_value": low, "max_value": high},
        where,
    )


def in_set(column: str, values: tuple[str, ...]) -> Expectation:
    return Expectation(
        "expect_column_values_to_be_in_set", {"column": column, "value_set": list(values)}
    )


def at_most(column: str, upper: str) -> Expectation:
    """``column`` <= ``upper`` on every row where both are set."""
    return Expectation(
        "expect_column_pair_values_a_to_be_greater_than_b",
        {
            "column_A": upper,
            "column_B": column,
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
    )


def unique(column: str) -> Expectation:
    return Expectation("expect_column_values_to_be_unique", {"column": column})


def event_suites(settings: QualitySettings, ahead_hours: float) -> tuple[Suite, ...]:
    """Suites over one run's landed events (frames.landed_events). ``ahead_hours`` is
    the collector's RINGSIDE_MAX_EVENT_AHEAD_HOURS: ingestion quarantines later times, so
    the blocking suites here check Ringside's own guarantees, never raw input."""
    return (
        Suite(
            name="required_fields_present",
            description="Every landed event has a message_id, type, event time and arrival "
            "time, a user or anonymous id, an event name when it is a track and a "
            "previous id when it is an alias (the contract of docs/events.md).",
            expectations=(
                not_null("message_id"),
                not_null("type"),
                not_null("event_time"),
                not_null("received_at"),
                not_null("user_or_anonymous_id"),
                not_null("event", where=("type", "==", "track")),
                not_null("previous_id", where=("type", "==", "alias")),
            ),
            blocking=True,
        ),
        Suite(
            name="event_time_not_in_future",
            description=f"No event happened more than {ahead_hours:g} h after it reached "
            "the server (RINGSIDE_MAX_EVENT_AHEAD_HOURS; ingestion quarantines later times).",
            expectations=(between("seconds_ahead_of_receipt", None, ahead_hours * 3600),),
            blocking=True,
        ),
        Suite(
            name="event_types_in_tracking_plan",
            description="Every event type is one of Segment's: " + ", ".join(EVENT_TYPES) + ".",
            expectations=(in_set("type", EVENT_TYPES),),
            blocking=True,
        ),
        Suite(
            name="track_events_in_tracking_plan",
            description="Track event names are in the tracking plan of docs/events.md (a warning: "
            "the plan grows, and a new name is usually a new feature, not broken data).",
            expectations=(in_set("track_event", TRACKING_PLAN_EVENTS),),
            severity="warn",
        ),
    )


def quarantine_suite(settings: QualitySettings) -> Suite:
    """The suite over the quarantine rates of one run's arrivals (frames.quarantine_rates)."""
    return Suite(
        name="quarantine_rate_below_threshold",
        description="For each day on which the run's events were ingested, quarantined "
        "/ (landed + quarantined) of that day's arrivals is at most "
        f"{settings.max_quarantine_rate:.1%} (RINGSIDE_QUALITY_MAX_QUARANTINE_RATE), "
        f"judged on days with at least {settings.quarantine_min_received} arrivals. Not "
        "blocking: a broken client's rejects are kept in quarantine with their reasons, and "
        "the valid events of the day are built all the same.",
        expectations=(
            between(
                "quarantine_rate",
                0,
                settings.max_quarantine_rate,
                where=("received", ">=", settings.quarantine_min_received),
            ),
        ),
    )


@dataclass(frozen=True)
class WarehouseCheck:
    """A suite over a query of one dbt model. ``sql`` is portable (DuckDB and
    PostgreSQL), without a where clause. A table that grows with the history names its
    ``date_column``: a build checks the rows it wrote, the daily full check every day,
    a range of days at a time."""

    table: str
    sql: str
    suite: Suite
    date_column: str | None = None

    @property
    def by_day(self) -> bool:
        """Whether the table is read in parts (the rows built, or ranges of days)."""
        return self.date_column is not None

    def query(self, first_day: date, last_day: date) -> str:
        return (
            f"{self.sql} where {self.date_column} between "
            f"cast('{first_day.isoformat()}' as date) and cast('{last_day.isoformat()}' as date)"
        )

    def built_rows_query(self) -> str:
        """The rows the newest successful build wrote: stamped `_built_at` with the build's
        stamp, which ringside_build_manifest records (dbt_project/macros/incremental.sql)."""
        return (
            f"{self.sql} where _built_at >= (select max(build_stamp) from ringside_build_manifest)"
        )


def _ranges_check(
    table: str, *, rates: tuple[str, ...] = (), amounts: tuple[str, ...] = ()
) -> WarehouseCheck:
    """Rates within [0, 1] and amounts (durations, revenue, ratios) not negative."""
    parts = [("rates within [0, 1]", rates), ("no negative " + ", ".join(amounts), amounts)]
    return WarehouseCheck(
        table=table,
        sql=f"select * from {table}",
        suite=Suite(
            name="rates_and_amounts_valid",
            description="; ".join(text for text, columns in parts if columns) + ".",
            expectations=(
                *(between(column, 0, 1) for column in rates),
                *(between(column, 0, None) for column in amounts),
            ),
        ),
    )


# Staging and fct_sessions are read for the rows a build wrote (they grow with history);
# the marts are small aggregates and are checked whole.
WAREHOUSE_CHECKS: tuple[WarehouseCheck, ...] = (
    WarehouseCheck(
        table="stg_tracking__events",
        sql="select message_id, event_type, event_time, received_at from stg_tracking__events",
        date_column="event_date",
        suite=Suite(
            name="message_id_unique",
            description="Staging holds each messageId once (duplicates delivered by "
            "retrying clients are removed there).",
            expectations=(unique("message_id"),),
        ),
    ),
    WarehouseCheck(
        table="fct_sessions",
        sql="select session_id, session_date, started_at, ended_at, duration_seconds, "
        "revenue_usd from fct_sessions",
        date_column="session_date",
        suite=Suite(
            name="no_negative_duration_or_revenue",
            description="Session durations and revenue are not negative.",
            expectations=(between("duration_seconds", 0, None), between("revenue_usd", 0, None)),
        ),
    ),
    WarehouseCheck(
        table="mart_active_users_daily",
        sql="select * from mart_active_users_daily",
        suite=Suite(
            name="dau_wau_mau_nested",
            description="DAU <= WAU <= MAU on every day and slice; stickiness within [0, 1].",
            expectations=(
                at_most("daily_active_users", "weekly_active_users"),
                at_most("weekly_active_users", "monthly_active_users"),
                between("stickiness", 0, 1),
            ),
        ),
    ),
    WarehouseCheck(
        table="mart_funnel_daily",
        sql="select funnel_name, entry_date, breakdown, breakdown_value, step_number, users, "
        "lag(users) over (partition by funnel_name, entry_date, breakdown, breakdown_value "
        "order by step_number) as previous_step_users, conversion_from_start, "
        "conversion_from_previous, drop_off_rate from mart_funnel_daily",
        suite=Suite(
            name="funnel_steps_non_increasing",
            description="No funnel step has more users than the step before it; conversion "
            "and drop-off rates within [0, 1].",
            expectations=(
                at_most("users", "previous_step_users"),
                between("conversion_from_start", 0, 1),
                between("conversion_from_previous", 0, 1),
                between("drop_off_rate", 0, 1),
            ),
        ),
    ),
    WarehouseCheck(
        table="mart_cohort_retention",
        sql="select cohort_retention_id, cohort_size, retained_users, retention_rate "
        "from mart_cohort_retention where period_number = 0",
        suite=Suite(
            name="period_zero_is_whole_cohort",
            description="Retention in period 0 is 100 % (the cohort is defined by activity "
            "in that period).",
            expectations=(not_null("retention_rate"), between("retention_rate", 1, 1)),
        ),
    ),
    _ranges_check(
        "mart_cohort_retention",
        rates=("retention_rate", "unbounded_retention_rate"),
        amounts=("revenue_usd", "cumulative_revenue_usd", "ltv_per_user"),
    ),
    _ranges_check("mart_retention_curve", rates=("retention_rate", "unbounded_retention_rate")),
    _ranges_check(
        "mart_traffic_sources_daily",
        rates=("bounce_rate", "conversion_rate"),
        amounts=("total_duration_seconds", "avg_session_duration_seconds", "revenue_usd"),
    ),
    # video_completion_rate and ctr are ratios, not shares: completions of the previous
    # day's starts and several clicks per search take them above 1 (their dbt docs).
    _ranges_check(
        "mart_content_performance_daily",
        rates=("bounce_rate", "search_ctr"),
        amounts=("video_completion_rate",),
    ),
    _ranges_check("mart_search_daily", rates=("zero_result_rate",), amounts=("ctr",)),
    _ranges_check("mart_search_position_ctr_daily", rates=("position_ctr",)),
    _ranges_check("mart_experiment_results", rates=("conversion_rate", "control_conversion_rate")),
    _ranges_check("dim_users", amounts=("revenue_usd",)),
)
