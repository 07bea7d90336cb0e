"""The two implementations of funnels and retention — the dbt marts and the ad-hoc query
engine — agree on a generated platform, and the API serves both."""

from collections.abc import Iterator
from datetime import date, timedelta
from itertools import pairwise

import duckdb
import pytest

from ringside.insights.definitions import saved_funnels
from ringside.insights.funnels import FunnelQuery, FunnelResult, run_funnel
from ringside.insights.retention import RetentionQuery, run_retention
from tests.api_client import api_client
from tests.platforms import BuiltPlatform, built_platform

FLOAT = 1e-9


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltPlatform]:
    # 40 days so that 30-day periods complete; ~34k events.
    with built_platform(tmp_path_factory.mktemp("insights"), days=40, users=800, seed=5) as built:
        yield built


@pytest.fixture
def con(platform: BuiltPlatform) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(platform.settings.layout.serving_path), read_only=True) as con:
        yield con


def rows(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= FLOAT * max(1.0, abs(a), abs(b))


def entry_days(con: duckdb.DuckDBPyConnection, funnel: str) -> list[date]:
    return [
        r["entry_date"]
        for r in rows(
            con,
            "select distinct entry_date from mart_funnel_daily where funnel_name = ? order by 1",
            funnel,
        )
    ]


def step_figures(result: FunnelResult) -> dict[tuple[str, int], tuple]:
    groups = [("all", result.steps)] + [(g.breakdown_value, g.steps) for g in result.breakdowns]
    return {
        (value, step.step_number): (
            step.users,
            step.drop_off_users,
            step.avg_seconds_from_previous,
            step.median_seconds_from_previous,
        )
        for value, steps in groups
        for step in steps
    }


@pytest.mark.parametrize("name", sorted(saved_funnels()))
@pytest.mark.parametrize("breakdown", [None, "first_touch_source", "device_type"])
def test_a_saved_funnel_over_a_range_reads_the_same_from_the_counted_attempts(
    con: duckdb.DuckDBPyConnection, name: str, breakdown: str | None
):
    """Several days at once: a person with attempts on many days is counted once, at
    their best attempt, both from fct_events and from fct_funnel_progress."""
    days = entry_days(con, name)
    for start, end in [(days[0], days[-1]), (days[3], days[12])]:
        query = FunnelQuery(
            definition=saved_funnels()[name], start=start, end=end, breakdown=breakdown
        )
        engine = step_figures(run_funnel(con, query))
        counted = step_figures(run_funnel(con, query, precomputed=True))
        assert engine.keys() == counted.keys(), (name, start, end)
        for key, (users, drop, avg, median) in engine.items():
            other = counted[key]
            assert (users, drop) == other[:2], (name, key)
            assert same(avg, other[2]) and same(median, other[3]), (name, key)
        # People reach step 1 in this range on several days: the range is not a sum of days.
        assert engine[("all", 1)][0] < sum(
            run_funnel(con, query.model_copy(update={"start": d, "end": d}), precomputed=True)
            .steps[0]
            .users
            for d in days
            if start <= d <= end
        )


@pytest.mark.parametrize("name", sorted(saved_funnels()))
@pytest.mark.parametrize("breakdown", [None, "first_touch_source", "device_type"])
def test_saved_funnels_mart_and_engine_agree_day_by_day(
    con: duckdb.DuckDBPyConnection, name: str, breakdown: str | None
):
    definition = saved_funnels()[name]
    days = entry_days(con, name)
    assert len(days) >= 10, "the platform should give every saved funnel entries"
    mart_breakdown = breakdown or "all"
    for day in days:
        result = run_funnel(
            con, FunnelQuery(definition=definition, start=day, end=day, breakdown=breakdown)
        )
        engine = {
            (group.breakdown_value, step.step_number): step
            for group in result.breakdowns
            for step in group.steps
        } or {("all", step.step_number): step for step in result.steps}
        mart = {
            (r["breakdown_value"], r["step_number"]): r
            for r in rows(
                con,
                "select * from mart_funnel_daily"
                " where funnel_name = ? and entry_date = ? and breakdown = ?",
                name,
                day,
                mart_breakdown,
            )
        }
        assert engine.keys() == mart.keys(), (name, day)
        for key, step in engine.items():
            row = mart[key]
            assert step.users == row["users"], (name, day, key)
            assert step.drop_off_users == row["drop_off_users"], (name, day, key)
            for field in (
                "conversion_from_start",
                "conversion_from_previous",
                "avg_seconds_from_previous",
                "median_seconds_from_previous",
            ):
                assert same(getattr(step, field), row[field]), (name, day, key, field)


@pytest.mark.parametrize("name", sorted(saved_funnels()))
def test_over_a_range_each_person_counts_once_at_their_furthest_step(
    con: duckdb.DuckDBPyConnection, name: str
):
    """The engine over the whole range equals the per-day fact table reduced to one
    attempt per person (furthest step, earliest entry on ties) — docs/metrics.md."""
    first, last = entry_days(con, name)[0], entry_days(con, name)[-1]
    result = run_funnel(con, FunnelQuery(definition=saved_funnels()[name], start=first, end=last))
    furthest = rows(
        con,
        """
        select step, count(*) as users from (
            select stitched_user_id, max(furthest_step) as furthest
            from fct_funnel_progress where funnel_name = ? group by 1
        ) as people, range(1, 21) as steps(step)
        where step <= furthest
        group by step order by step
        """,
        name,
    )
    assert [step.users for step in result.steps] == [r["users"] for r in furthest]
    users = [step.users for step in result.steps]
    assert users == sorted(users, reverse=True) and users[0] > users[-1] > 0


@pytest.mark.parametrize("period", ["day", "week", "month"])
@pytest.mark.parametrize(
    ("cohort_type", "target_event"),
    [("first_activity", "$any_activity"), ("signup", "Signed Up")],
)
def test_retention_mart_and_engine_agree(
    con: duckdb.DuckDBPyConnection, period: str, cohort_type: str, target_event: str
):
    mart = rows(
        con,
        """
        select cohort_start, period_number, cohort_size, retained_users,
            unbounded_retained_users
        from mart_cohort_retention
        where cohort_type = ? and period_grain = ? and breakdown = 'all'
        order by cohort_start, period_number
        """,
        cohort_type,
        period,
    )
    first_event, last_event = con.execute(
        "select min(event_date), max(event_date) from fct_events"
    ).fetchone()
    for counting, column in (("n_day", "retained_users"), ("rolling", "unbounded_retained_users")):
        result = run_retention(
            con,
            RetentionQuery(
                target_event=target_event,
                period=period,
                counting=counting,
                start=first_event,
                end=last_event,
            ),
        )
        engine = {
            (cohort.cohort_start, number): (cohort.cohort_size, retained)
            for cohort in result.cohorts
            for number, retained in enumerate(cohort.retained)
        }
        expected = {
            (r["cohort_start"], r["period_number"]): (r["cohort_size"], r[column]) for r in mart
        }
        assert engine == expected, (cohort_type, period, counting)


def test_incomplete_periods_are_null_and_unbounded_retention_never_rises(
    con: duckdb.DuckDBPyConnection,
):
    (as_of,) = con.execute("select max(event_date) from fct_events").fetchone()
    cells = rows(
        con,
        """
        select cohort_start, period_number, period_start, is_complete, retained_users,
            unbounded_retention_rate
        from mart_cohort_retention
        where cohort_type = 'first_activity' and period_grain = 'day' and breakdown = 'all'
        order by cohort_start, period_number
        """,
    )
    for cell in cells:
        complete = cell["period_start"] <= as_of
        assert cell["is_complete"] == complete
        assert (cell["retained_users"] is None) == (not complete and cell["period_number"] > 0)
    by_cohort: dict[date, list[float]] = {}
    for cell in cells:
        if cell["unbounded_retention_rate"] is not None:
            by_cohort.setdefault(cell["cohort_start"], []).append(cell["unbounded_retention_rate"])
    assert by_cohort
    for rates in by_cohort.values():
        assert rates[0] == 1.0
        assert all(later <= earlier for earlier, later in pairwise(rates))


def test_api_serves_saved_and_ad_hoc_funnels_cohorts_and_retention(
    platform: BuiltPlatform, con: duckdb.DuckDBPyConnection
):
    client = api_client()
    first, last = con.execute("select min(event_date), max(event_date) from fct_events").fetchone()
    span = {"start": first.isoformat(), "end": last.isoformat()}

    saved = client.get("/api/analytics/funnels/", params={**span, "name": "search_to_video"})
    assert saved.status_code == 200, saved.text
    ad_hoc = client.get(
        "/api/analytics/funnels/",
        params={
            **span,
            "step": ["Products Searched", "Search Result Clicked", "Video Content Completed"],
            "window_value": 1,
            "window_unit": "hour",
        },
    )
    assert ad_hoc.status_code == 200, ad_hoc.text
    assert [s["users"] for s in ad_hoc.json()["steps"]] == [
        s["users"] for s in saved.json()["steps"]
    ]

    daily = client.get("/api/analytics/funnels/search_to_video/daily", params=span).json()
    per_day_entries = sum(d["users"] for d in daily["days"] if d["step_number"] == 1)
    # A person entering on two days counts on both days but once over the range.
    assert per_day_entries >= saved.json()["steps"][0]["users"]

    # Weekly cohorts start on Mondays; the engine's first cohort is the week of `start`.
    monday = first - timedelta(days=first.weekday())
    cohorts = client.get(
        "/api/analytics/cohorts/",
        params={**span, "start": monday.isoformat(), "period": "week", "cohort_type": "signup"},
    )
    assert cohorts.status_code == 200, cohorts.text
    matrix = cohorts.json()["cohorts"]
    assert matrix and all(c["periods"][0]["retention_rate"] == 1.0 for c in matrix)

    retention = client.get(
        "/api/analytics/retention/",
        params={**span, "target_event": "Signed Up", "period": "week"},
    )
    assert retention.status_code == 200, retention.text
    assert [c["cohort_size"] for c in retention.json()["cohorts"]] == [
        c["cohort_size"] for c in matrix
    ]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"step": ["Products Searched", "No Such Event"]}, "No Such Event"),
        ({"step": ["Products Searched"]}, "at least 2"),
        ({"step": ["Signed Up"] * 21}, "at most 20"),
        ({"step": ["Signed Up", "Subscription Started"], "window_value": 0}, "greater than or"),
        ({"name": "search_to_video", "step": ["Signed Up"]}, "not both"),
        ({"step": ['{"page_view": true, "event": "Signed Up"}', "Signed Up"]}, "exactly one"),
    ],
)
def test_invalid_funnels_are_rejected_with_the_reason(
    platform: BuiltPlatform, params: dict, reason: str
):
    span = {"start": "2026-08-01", "end": (date(2026, 8, 1) + timedelta(days=3)).isoformat()}
    response = api_client().get("/api/analytics/funnels/", params={**span, **params})
    assert response.status_code == 422, response.text
    assert reason in response.json()["detail"][0]["msg"]


def test_an_unknown_saved_funnel_is_404_and_lists_the_saved_ones(platform: BuiltPlatform):
    response = api_client().get(
        "/api/analytics/funnels/", params={"start": "2026-08-01", "end": "2026-08-02", "name": "x"}
    )
    assert response.status_code == 404
    assert "visitor_to_subscriber" in response.json()["detail"]
