"""Ad-hoc retention: a :class:`RetentionQuery` compiled to one SQL query over
`fct_events`.

Semantics (docs/metrics.md "Retention (cohorts)"): a period is a UTC day, an ISO week or
a calendar month; ``first_time`` cohorts hold the people whose first-ever target event
falls in [start, end], ``recurring`` ones every period with a target event in it;
``n_day`` counts the members with a return event in exactly period c+N, ``rolling`` in
c+N or later; period 0 is the cohort itself, and a period that has not fully elapsed by
the last day with data is ``None``.

Those rules are written once, as the dbt macros of dbt_project/macros/retention.sql and
cohort_periods.sql, which build mart_cohort_retention too; this module renders them
(:mod:`ringside.insights.macros`) for one target and return event, with the client's
values bound as parameters. With target ``$any_activity`` (or ``Signed Up``),
``first_time`` and the default return event, the cohorts are the ``first_activity``
(or ``signup``) cohorts of ``mart_cohort_retention``, cell for cell.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from ringside.core.readers import DUCKDB, Dialect, Reader, as_reader
from ringside.insights.macros import macros
from ringside.insights.sql import (
    Params,
    QueryError,
    check_event_names,
)

ANY_ACTIVITY = "$any_activity"
MAX_PERIODS = 400
Period = Literal["day", "week", "month"]


class RetentionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_event: str = Field(
        description="Defines the cohorts: a track event name, `$any_activity` or `$pageview`."
    )
    return_event: str = Field(ANY_ACTIVITY, description="Counts as retained; same tokens.")
    period: Period = "day"
    cohort_mode: Literal["first_time", "recurring"] = "first_time"
    counting: Literal["n_day", "rolling"] = "n_day"
    start: date = Field(description="First UTC day of the cohort-defining events.")
    end: date = Field(description="Last UTC day of the cohort-defining events.")
    periods: int | None = Field(
        None, description="Highest period number reported (default: up to as_of_date)."
    )


class RetentionCohort(BaseModel):
    cohort_start: date = Field(description="First day of the cohort's period.")
    cohort_size: int
    retained: list[int | None] = Field(
        description="People retained in period N (index N; [0] = the cohort size); "
        "None while period N has not fully elapsed."
    )
    rates: list[float | None] = Field(description="retained / cohort_size.")


class RetentionResult(BaseModel):
    target_event: str
    return_event: str
    period: str
    cohort_mode: str
    counting: str
    start: date
    end: date
    as_of_date: date | None = Field(description="The last day with data (None: no data).")
    cohorts: list[RetentionCohort]


def check_retention(query: RetentionQuery) -> None:
    """The checks that need no warehouse."""
    if query.end < query.start:
        raise QueryError(f"end ({query.end}) is before start ({query.start})")
    if query.periods is not None and not 1 <= query.periods <= MAX_PERIODS:
        raise QueryError(f"periods must be between 1 and {MAX_PERIODS}, not {query.periods}")


@cache
def event_tokens() -> frozenset[str]:
    """The tokens a query may name instead of an event (macros/retention.sql)."""
    return frozenset(macros(DUCKDB.name).retention_event_tokens())


def run_retention(
    source: Reader | duckdb.DuckDBPyConnection, query: RetentionQuery
) -> RetentionResult:
    reader = as_reader(source)
    check_retention(query)
    check_event_names(
        reader,
        [
            (name, where)
            for name, where in ((query.target_event, "target"), (query.return_event, "return"))
            if name not in event_tokens()
        ],
    )
    (latest,) = reader.rows("select max(event_date) as as_of_date from fct_events", {})
    as_of_date = latest["as_of_date"]
    cohorts: list[RetentionCohort] = []
    if as_of_date is not None:
        cohorts = _cohorts(query, reader.rows(*compile_retention(query, reader.dialect)))
    return RetentionResult(
        target_event=query.target_event,
        return_event=query.return_event,
        period=query.period,
        cohort_mode=query.cohort_mode,
        counting=query.counting,
        start=query.start,
        end=query.end,
        as_of_date=as_of_date,
        cohorts=cohorts,
    )


def _cohorts(query: RetentionQuery, rows: list[dict]) -> list[RetentionCohort]:
    """The matrix rows (cohort, N from 0 to the period holding the last day with data)
    as one list per cohort, cut at or padded to ``periods``: a period past the data has
    not elapsed, so it is None."""
    column = "retained_users" if query.counting == "n_day" else "unbounded_retained_users"
    matrix: dict[date, list[int | None]] = {}
    sizes: dict[date, int] = {}
    for row in rows:
        sizes[row["cohort_start"]] = row["cohort_size"]
        matrix.setdefault(row["cohort_start"], []).append(row[column])
    cohorts = []
    for cohort_start, retained in sorted(matrix.items()):
        if query.periods is not None:
            retained = (retained + [None] * query.periods)[: query.periods + 1]
        size = sizes[cohort_start]
        cohorts.append(
            RetentionCohort(
                cohort_start=cohort_start,
                cohort_size=size,
                retained=retained,
                rates=[None if r is None else r / size for r in retained],
            )
        )
    return cohorts


# The people of the cohorts and their return days, then the mart's matrix over them.
_RETENTION = """with recursive

bounds as (
    select
        {{ cohort_period_start(period, start) }} as first_date,
        max(event_date) as as_of_date
    from fct_events
),

cohort_days as (
    select cast('target' as {{ dbt.type_string() }}) as cohort_type, stitched_user_id, cohort_date
    from ({{ retention_cohort_days('fct_events', target, cohort_mode, start, end) }}) as cohorts
),

user_days as (
    select stitched_user_id, event_date, 1 as is_active
    from fct_events
    where {{ returns }}
        and event_date >= (select first_date from bounds)
        and stitched_user_id in (select stitched_user_id from cohort_days)
    group by stitched_user_id, event_date
),

{{ retention_cells([period]) }},

measured as (
    {{ retention_measured('counted') }}
)

select cohort_start, period_number, cohort_size, retained_users, unbounded_retained_users
from measured
order by cohort_start, period_number
"""


def compile_retention(
    query: RetentionQuery, dialect: Dialect = DUCKDB
) -> tuple[str, dict[str, object]]:
    """The retention query as one SQL query and its bound parameters: one row per
    cohort and period number N (0 up to the period holding the last day with data) with
    cohort_size, retained_users (n_day) and unbounded_retained_users (rolling), None
    while period N has not fully elapsed."""
    check_retention(query)
    params = Params(dialect)
    shared = macros(dialect.name)
    sql = shared.render(
        _RETENTION,
        # One of three literals the model allows, never client text.
        period=query.period,
        cohort_mode=query.cohort_mode,
        start=params.bind(query.start, "start"),
        end=params.bind(query.end, "end"),
        target=shared.retention_event_predicate(query.target_event, params.bind),
        returns=shared.retention_event_predicate(query.return_event, params.bind),
    )
    return sql, params.values
