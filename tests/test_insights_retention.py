"""The ad-hoc retention engine on small hand-made event sets in an in-memory DuckDB.

Expectations are worked out by hand from docs/metrics.md "Retention (cohorts)": period 0 is
the cohort size; period N >= 1 counts cohort members with a return event in exactly
period c+N (n_day) or in c+N or later (rolling); ``as_of_date`` = the last day with any
event, and a period ending after it is None.
"""

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from itertools import count

import duckdb
import pytest
from pydantic import ValidationError

from ringside.insights.retention import RetentionQuery, RetentionResult, run_retention
from ringside.insights.sql import QueryError

D = date(2026, 3, 2)  # a Monday


def ev(user: str, day: date, name: str | None = "Content Liked", *, page: bool = False) -> tuple:
    """(user, day, event_name, is_page_view): a `track` event, or a page view."""
    return (user, day, None if page else name, page)


Load = Callable[[list[tuple]], duckdb.DuckDBPyConnection]


@pytest.fixture
def load() -> Iterator[Load]:
    """A fresh in-memory `fct_events` with the columns the engine reads; each event at
    noon of its day."""
    con = duckdb.connect()
    con.execute(
        """
        create table fct_events (
            message_id varchar, stitched_user_id varchar, event_name varchar,
            is_page_view boolean, is_active_event boolean, event_time timestamp,
            event_date date
        )
        """
    )
    ids = count(1)

    def insert(events: list[tuple]) -> duckdb.DuckDBPyConnection:
        for user, day, name, page in events:
            con.execute(
                "insert into fct_events values (?, ?, ?, ?, ?, ? + interval 12 hour, ?)",
                [f"m{next(ids)}", user, name, page, name != "Page Heartbeat", day, day],
            )
        return con

    yield insert
    con.close()


def run(con: duckdb.DuckDBPyConnection, **query: object) -> RetentionResult:
    return run_retention(con, RetentionQuery(**{"target_event": "$any_activity", **query}))


def matrix(result: RetentionResult) -> dict[date, list[int | None]]:
    return {cohort.cohort_start: cohort.retained for cohort in result.cohorts}


# Daily: u1 active on D, D+1, D+3; u2 on D, D+2 (a heartbeat on D+1 is no activity);
# u3 on D+1, D+2, D+3. as_of = D+3.
DAILY = [
    ev("u1", D),
    ev("u1", D + timedelta(1)),
    ev("u1", D + timedelta(3)),
    ev("u2", D),
    ev("u2", D + timedelta(1), "Page Heartbeat"),
    ev("u2", D + timedelta(2)),
    ev("u3", D + timedelta(1)),
    ev("u3", D + timedelta(2)),
    ev("u3", D + timedelta(3)),
]


@pytest.mark.parametrize(
    ("cohort_mode", "counting", "expected"),
    [
        # First activity: cohort D = {u1, u2}, cohort D+1 = {u3}.
        # D, n_day: N1 (D+1) u1; N2 (D+2) u2; N3 (D+3) u1.  D+1: N1 u3, N2 u3.
        ("first_time", "n_day", {D: [2, 1, 1, 1], D + timedelta(1): [1, 1, 1]}),
        # D, rolling: N1 = active D+1 or later: u1, u2; N2: u1 (D+3), u2 (D+2); N3: u1.
        ("first_time", "rolling", {D: [2, 2, 2, 1], D + timedelta(1): [1, 1, 1]}),
        # Every active day starts a cohort row: D {u1,u2}, D+1 {u1,u3}, D+2 {u2,u3},
        # D+3 {u1,u3}. D+1: N1 (D+2) u3; N2 (D+3) u1, u3. D+2: N1 (D+3) u3.
        (
            "recurring",
            "n_day",
            {
                D: [2, 1, 1, 1],
                D + timedelta(1): [2, 1, 2],
                D + timedelta(2): [2, 1],
                D + timedelta(3): [2],
            },
        ),
        # D+1 rolling: N1 = D+2 or later: u1 (D+3), u3 -> 2; N2: u1, u3 -> 2.
        (
            "recurring",
            "rolling",
            {
                D: [2, 2, 2, 1],
                D + timedelta(1): [2, 2, 2],
                D + timedelta(2): [2, 1],
                D + timedelta(3): [2],
            },
        ),
    ],
)
def test_daily_cohort_modes_and_counting(
    load: Load, cohort_mode: str, counting: str, expected: dict[date, list[int]]
):
    result = run(
        load(DAILY),
        cohort_mode=cohort_mode,
        counting=counting,
        start=D,
        end=D + timedelta(3),
    )
    assert result.as_of_date == D + timedelta(3)
    assert matrix(result) == expected
    for cohort in result.cohorts:
        # Period 0 is the cohort itself.
        assert cohort.cohort_size == cohort.retained[0]
        assert cohort.rates == [r / cohort.cohort_size for r in cohort.retained]
        assert cohort.rates[0] == 1.0


def test_people_whose_first_target_event_is_before_the_range_are_left_out(load: Load):
    # Range D+1..D+3: u1 and u2 first acted on D, before it; only u3 (first on D+1) is a
    # first-time cohort member. Recurring keeps u1 on D+1 (active that day).
    con = load(DAILY)
    first = run(con, start=D + timedelta(1), end=D + timedelta(3))
    assert matrix(first) == {D + timedelta(1): [1, 1, 1]}
    recurring = run(con, cohort_mode="recurring", start=D + timedelta(1), end=D + timedelta(1))
    assert matrix(recurring) == {D + timedelta(1): [2, 1, 2]}


def test_periods_past_the_data_are_none_and_periods_caps_the_list(load: Load):
    # Cohort D (range D..D), 5 periods asked: D+4 and D+5 are after as_of (D+3).
    con = load(DAILY)
    assert matrix(run(con, start=D, end=D, periods=5)) == {D: [2, 1, 1, 1, None, None]}
    result = run(con, start=D, end=D, periods=1)
    assert matrix(result) == {D: [2, 1]}
    assert result.cohorts[0].rates == [1.0, 0.5]


def test_a_return_event_distinct_from_the_target(load: Load):
    # Target `Signed Up`, return `Video Watched`; as_of = D+2.
    # u1: signs up D, watches D+1.  u2: signs up D, only a page view on D+1, watches D+2.
    # u3: watched on D (before signing up, so it is no return), signs up D+1.
    # Cohort D {u1, u2}: N1 (D+1) u1 -> 1; N2 (D+2) u2 -> 1.  Cohort D+1 {u3}: N1 -> 0.
    # With return `$pageview`: cohort D N1 u2 -> 1, N2 -> 0; cohort D+1 N1 -> 0.
    con = load(
        [
            ev("u1", D, "Signed Up"),
            ev("u1", D + timedelta(1), "Video Watched"),
            ev("u2", D, "Signed Up"),
            ev("u2", D + timedelta(1), page=True),
            ev("u2", D + timedelta(2), "Video Watched"),
            ev("u3", D, "Video Watched"),
            ev("u3", D + timedelta(1), "Signed Up"),
        ]
    )
    span = {"start": D, "end": D + timedelta(2)}
    watched = run(con, target_event="Signed Up", return_event="Video Watched", **span)
    assert matrix(watched) == {D: [2, 1, 1], D + timedelta(1): [1, 0]}
    viewed = run(con, target_event="Signed Up", return_event="$pageview", **span)
    assert matrix(viewed) == {D: [2, 1, 0], D + timedelta(1): [1, 0]}


def test_weekly_cohorts_across_a_year_boundary(load: Load):
    # ISO weeks start Monday: 2026-12-28 (week 53 of 2026), 2027-01-04, 2027-01-11.
    # u1: Tue 12-29, Sun 01-03 (same week), Wed 01-06.  u2: Thu 12-31, Sat 01-09.
    # u3: Fri 01-08. as_of = Sat 01-09: the week of 01-04 has not ended -> None.
    events = [
        ev("u1", date(2026, 12, 29)),
        ev("u1", date(2027, 1, 3)),
        ev("u1", date(2027, 1, 6)),
        ev("u2", date(2026, 12, 31)),
        ev("u2", date(2027, 1, 9)),
        ev("u3", date(2027, 1, 8)),
    ]
    con = load(events)
    span = {"period": "week", "start": date(2026, 12, 28), "end": date(2027, 1, 10)}
    week_53, week_1 = date(2026, 12, 28), date(2027, 1, 4)
    assert matrix(run(con, **span)) == {week_53: [2, None], week_1: [1]}
    # One more event on Sunday 01-10 completes the week: N1 of week 53 = u1, u2.
    load([ev("u3", date(2027, 1, 10))])
    result = run(con, **span)
    assert result.as_of_date == date(2027, 1, 10)
    assert matrix(result) == {week_53: [2, 2], week_1: [1]}


def test_monthly_cohorts_by_calendar_month(load: Load):
    # u3: 2025-12-20, 2026-01-05 -> cohort 2025-12; N1 = January.
    # u1: 2026-01-31, 02-01, 03-15; u2: 2026-01-15, 03-01 -> cohort 2026-01.
    # as_of = 2026-03-15, so March (ends 03-31) is incomplete.
    # n_day:   2025-12: N1 Jan u3 -> 1; N2 Feb -> 0; N3 Mar -> None.
    #          2026-01: N1 Feb u1 -> 1; N2 Mar -> None.
    # rolling: 2025-12: N1 Jan or later u3 -> 1; N2 Feb or later -> 0.
    #          2026-01: N1 Feb or later: u1 (Feb), u2 (Mar, still up to as_of) -> 2.
    con = load(
        [
            ev("u3", date(2025, 12, 20)),
            ev("u3", date(2026, 1, 5)),
            ev("u1", date(2026, 1, 31)),
            ev("u1", date(2026, 2, 1)),
            ev("u1", date(2026, 3, 15)),
            ev("u2", date(2026, 1, 15)),
            ev("u2", date(2026, 3, 1)),
        ]
    )
    span = {"period": "month", "start": date(2025, 12, 1), "end": date(2026, 3, 15)}
    december, january = date(2025, 12, 1), date(2026, 1, 1)
    assert matrix(run(con, **span)) == {december: [1, 1, 0, None], january: [2, 1, None]}
    assert matrix(run(con, counting="rolling", **span)) == {
        december: [1, 1, 0, None],
        january: [2, 2, None],
    }


def test_an_empty_warehouse_has_no_cohorts(load: Load):
    result = run(load([]), start=D, end=D)
    assert result.as_of_date is None
    assert result.cohorts == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"target_event": "Nope"}, "target: unknown event 'Nope'"),
        ({"return_event": "Also Nope"}, "return: unknown event 'Also Nope'"),
        ({"end": D - timedelta(1)}, r"end \(2026-03-01\) is before start \(2026-03-02\)"),
        ({"periods": 0}, "periods must be between 1 and 400, not 0"),
        ({"periods": 401}, "periods must be between 1 and 400, not 401"),
    ],
)
def test_invalid_queries_are_refused_with_the_reason(
    load: Load, query: dict[str, object], message: str
):
    con = load(DAILY)
    with pytest.raises(QueryError, match=message):
        run(con, **{"start": D, "end": D, **query})


def test_unknown_fields_are_refused_by_the_schema():
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RetentionQuery(target_event="$any_activity", start=D, end=D, grain="day")
