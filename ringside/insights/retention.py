"""Ad-hoc retention: a :class:`RetentionQuery` compiled to one SQL query over
`fct_events`.

Semantics (docs/metrics.md "Retention (cohorts)"):

- a period is a UTC day, an ISO week (Monday start, ``date_trunc('week')``) or a
  calendar month; period N of cohort c is the N-th period after c;
- ``first_time``: a person's cohort is the period of their first-ever target event over
  all data; people whose first one is outside [start, end] are left out.
  ``recurring``: every period with a target event in [start, end] starts a cohort row;
- ``n_day``: retained in period N = cohort members with a return event in exactly
  period c+N; ``rolling``: in c+N or any later period (up to ``as_of_date``);
- period 0 is the cohort itself (its size, rate 1.0); ``as_of_date`` is the last day with
  data, treated as complete; a period N >= 1 whose last day is after it has not fully
  elapsed and is ``None``, never 0.

With target ``$any_activity`` (or ``Signed Up``), ``first_time`` and the default return
event, the cohorts equal the ``first_activity`` (or ``signup``) cohorts of
``mart_cohort_retention``.

The SQL returns sparse counts keyed by dates (cohort sizes, and people per cohort and
return period); period numbers, the dense matrix, rolling sums and the complete flags
are worked out here, which keeps the SQL free of engine-specific date arithmetic.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from ringside.core.readers import DUCKDB, Dialect, Reader, as_reader
from ringside.insights.sql import (
    ANY_ACTIVITY,
    EVENT_TOKENS,
    Params,
    QueryError,
    check_event_names,
    event_token_predicate,
)

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


def period_start(day: date, period: Period) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def shift(start: date, n: int, period: Period) -> date:
    """The start of the n-th period after the period starting on ``start``."""
    if period == "week":
        return start + timedelta(weeks=n)
    if period == "month":
        months = start.year * 12 + start.month - 1 + n
        return date(months // 12, months % 12 + 1, 1)
    return start + timedelta(days=n)


def period_number(cohort_start: date, start: date, period: Period) -> int:
    """N such that ``start`` begins the N-th period after ``cohort_start``."""
    if period == "month":
        return 12 * (start.year - cohort_start.year) + start.month - cohort_start.month
    days = (start - cohort_start).days
    return days // 7 if period == "week" else days


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
            if name not in EVENT_TOKENS
        ],
    )
    (latest,) = reader.rows("select max(event_date) as as_of_date from fct_events", {})
    as_of_date = latest["as_of_date"]
    cohorts: list[RetentionCohort] = []
    if as_of_date is not None:
        sql, params = compile_retention(query, as_of_date, reader.dialect)
        rows = reader.rows(sql, params)
        cohorts = _cohorts(
            query,
            as_of_date,
            [(row["cohort_start"], row["returned_in"], row["users"]) for row in rows],
        )
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


def _cohorts(
    query: RetentionQuery, as_of_date: date, rows: list[tuple[date, date | None, int]]
) -> list[RetentionCohort]:
    """The dense matrix from the sparse rows: (cohort_start, NULL, size) and
    (cohort_start, return period start, people)."""
    sizes: dict[date, int] = {}
    counts: dict[date, dict[int, int]] = defaultdict(dict)
    for cohort_start, returned_in, users in rows:
        if returned_in is None:
            sizes[cohort_start] = users
        else:
            counts[cohort_start][period_number(cohort_start, returned_in, query.period)] = users
    as_of_period = period_start(as_of_date, query.period)
    cohorts = []
    for cohort_start in sorted(sizes):
        size = sizes[cohort_start]
        last = (
            query.periods
            if query.periods is not None
            else period_number(cohort_start, as_of_period, query.period)
        )
        by_number = counts[cohort_start]
        if query.counting == "rolling":
            # The rows count people by their last return period: retained in N = last >= N.
            by_number = {
                n: sum(users for m, users in by_number.items() if m >= n)
                for n in range(1, last + 1)
            }
        retained: list[int | None] = [size]
        for n in range(1, last + 1):
            # Complete when the period's last day (the next period's start - 1) has data.
            complete = shift(cohort_start, n + 1, query.period) - timedelta(days=1) <= as_of_date
            retained.append(by_number.get(n, 0) if complete else None)
        cohorts.append(
            RetentionCohort(
                cohort_start=cohort_start,
                cohort_size=size,
                retained=retained,
                rates=[None if r is None else r / size for r in retained],
            )
        )
    return cohorts


def compile_retention(
    query: RetentionQuery, as_of_date: date, dialect: Dialect = DUCKDB
) -> tuple[str, dict[str, object]]:
    """The retention query as one SQL query and its bound parameters. It returns rows
    (cohort_start, returned_in, users): the cohort size when ``returned_in`` is NULL, else
    the people of that cohort whose return event falls in the period starting
    ``returned_in`` (n_day) or whose last return period is that one (rolling)."""
    check_retention(query)
    params = Params(dialect)
    # The period is one of three literals the model allows, not client text.
    truncate = f"cast(date_trunc('{query.period}', event_time) as date)"
    target = event_token_predicate(query.target_event, params)
    returns = event_token_predicate(query.return_event, params)
    start = params.bind(query.start, "start")
    end = params.bind(query.end, "end")
    # A return can be no earlier than the first cohort's period.
    first_period = params.bind(period_start(query.start, query.period), "first_period")
    as_of = params.bind(as_of_date, "as_of_date")
    if query.cohort_mode == "first_time":
        # The first-ever target event: earlier data counts too, so a person who first did
        # it before `start` is recognised and left out.
        members = f"""
    select
        stitched_user_id,
        cast(date_trunc('{query.period}', min(event_time)) as date) as cohort_start
    from fct_events
    where {target}
        and event_date <= {end}
    group by stitched_user_id
    having min(event_date) >= {start}"""
    else:
        members = f"""
    select distinct
        stitched_user_id,
        {truncate} as cohort_start
    from fct_events
    where {target}
        and event_date >= {start}
        and event_date <= {end}"""
    returned = """
    select
        cohort_members.cohort_start,
        return_periods.returned_in,
        count(*) as users
    from cohort_members
    inner join return_periods
        on return_periods.stitched_user_id = cohort_members.stitched_user_id
        and return_periods.returned_in > cohort_members.cohort_start
    group by cohort_members.cohort_start, return_periods.returned_in"""
    last_return = ""
    if query.counting == "rolling":
        last_return = """
last_returns as (
    select
        cohort_members.stitched_user_id,
        cohort_members.cohort_start,
        max(return_periods.returned_in) as returned_in
    from cohort_members
    inner join return_periods
        on return_periods.stitched_user_id = cohort_members.stitched_user_id
        and return_periods.returned_in > cohort_members.cohort_start
    group by cohort_members.stitched_user_id, cohort_members.cohort_start
),
"""
        returned = """
    select cohort_start, returned_in, count(*) as users
    from last_returns
    group by cohort_start, returned_in"""
    sql = f"""with
cohort_members as ({members}
),
return_periods as (
    select distinct
        stitched_user_id,
        {truncate} as returned_in
    from fct_events
    where {returns}
        and event_date >= {first_period}
        and event_date <= {as_of}
        and stitched_user_id in (select stitched_user_id from cohort_members)
),
{last_return}returned as ({returned}
),
cohort_sizes as (
    select cohort_start, cast(null as date) as returned_in, count(*) as users
    from cohort_members
    group by cohort_start
)

select cohort_start, returned_in, users from cohort_sizes
union all
select cohort_start, returned_in, users from returned
"""
    return sql, params.values
