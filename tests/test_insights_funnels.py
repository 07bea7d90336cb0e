"""The ad-hoc funnel engine on small hand-made event sets in an in-memory DuckDB.

Every expectation is worked out by hand from docs/metrics.md "Funnels" (common rules: each
step-1 event in range is an attempt; step k = the earliest step-k event strictly after
step k-1 and at most step 1 + window; an exclusion between steps a and b voids the
attempt; each person counts once, at their furthest non-void attempt, earliest on ties).
"""

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

import duckdb
import pytest
from pydantic import ValidationError

from ringside.insights.definitions import FunnelDefinition
from ringside.insights.funnels import FunnelQuery, FunnelResult, compile_funnel, run_funnel
from ringside.insights.sql import QueryError

DAY = date(2026, 3, 2)
T0 = datetime(2026, 3, 2, 12, 0, 0)
S = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)

Event = dict[str, Any]


def ev(
    user: str,
    at: datetime,
    name: str | None = None,
    *,
    page: bool = False,
    path: str | None = None,
    content_type: str | None = None,
    properties: str | None = None,
    device: str = "desktop",
    message_id: str | None = None,
) -> Event:
    """One `fct_events` row with the columns the engine reads: a `track` event ``name``,
    or a page view when ``page``."""
    return {
        "message_id": message_id,
        "stitched_user_id": user,
        "device_type": device,
        "event_name": name,
        "is_page_view": page,
        "is_active_event": name != "Page Heartbeat",
        "page_path": path,
        "content_type": content_type,
        "properties": properties,
        "event_time": at,
        "event_date": at.date(),
    }


Load = Callable[..., duckdb.DuckDBPyConnection]


COLUMNS = {
    "message_id": "varchar",
    "stitched_user_id": "varchar",
    "device_type": "varchar",
    "event_name": "varchar",
    "is_page_view": "boolean",
    "is_active_event": "boolean",
    "page_path": "varchar",
    "content_type": "varchar",
    "properties": "varchar",
    "event_time": "timestamp",
    "event_date": "date",
}


@pytest.fixture
def load() -> Iterator[Load]:
    """Loads events (and first-touch sources) into a fresh in-memory warehouse holding
    only the columns the engine reads; message ids default to m0001, m0002, ..."""
    con = duckdb.connect()
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    con.execute(f"create table fct_events ({columns})")
    con.execute("create table dim_users (stitched_user_id varchar, first_touch_source varchar)")
    ids = count(1)

    def insert(
        events: list[Event], sources: dict[str, str | None] | None = None
    ) -> duckdb.DuckDBPyConnection:
        rows = [[event[name] for name in COLUMNS] for event in events]
        for row in rows:
            row[0] = row[0] or f"m{next(ids):04d}"
        con.executemany(f"insert into fct_events values ({', '.join('?' for _ in COLUMNS)})", rows)
        for user, source in (sources or {}).items():
            con.execute("insert into dim_users values (?, ?)", [user, source])
        return con

    yield insert
    con.close()


def funnel(
    *steps: dict[str, Any] | str,
    window: tuple[int, str] = (7, "day"),
    exclusions: list[dict[str, Any]] | None = None,
) -> FunnelDefinition:
    """A definition; a plain string step is an event name."""
    return FunnelDefinition.model_validate(
        {
            "steps": [{"event": step} if isinstance(step, str) else step for step in steps],
            "conversion_window": {"value": window[0], "unit": window[1]},
            "exclusions": exclusions or [],
        }
    )


def run(
    con: duckdb.DuckDBPyConnection,
    definition: FunnelDefinition,
    start: date = DAY,
    end: date = DAY,
    breakdown: str | None = None,
) -> FunnelResult:
    return run_funnel(
        con, FunnelQuery(definition=definition, start=start, end=end, breakdown=breakdown)
    )


def users(result: FunnelResult) -> list[int]:
    return [step.users for step in result.steps]


def seconds(result: FunnelResult) -> list[tuple[float | None, float | None]]:
    """(avg, median) seconds from the previous step, per step."""
    return [
        (step.avg_seconds_from_previous, step.median_seconds_from_previous) for step in result.steps
    ]


def test_window_boundary_in_seconds_counts_from_step_one(load: Load):
    # Window 30 s from step 1 (not from the previous step), inclusive:
    # u1: A, B +10 s, C +30 s = t1 + W exactly -> step 3 (B after 10 s, C after 20 s)
    # u2: A, B +10 s, C +31 s -> step 2 (B after 10 s)
    # u3: A, B +31 s -> step 1
    con = load(
        [
            ev("u1", T0, "A"),
            ev("u1", T0 + 10 * S, "B"),
            ev("u1", T0 + 30 * S, "C"),
            ev("u2", T0, "A"),
            ev("u2", T0 + 10 * S, "B"),
            ev("u2", T0 + 31 * S, "C"),
            ev("u3", T0, "A"),
            ev("u3", T0 + 31 * S, "B"),
        ]
    )
    result = run(con, funnel("A", "B", "C", window=(30, "second")))
    assert result.conversion_window_seconds == 30
    assert users(result) == [3, 2, 1]
    # Step 2: u1 10 s, u2 10 s; step 3: u1 20 s.
    assert seconds(result) == [(None, None), (10.0, 10.0), (20.0, 20.0)]


def test_window_boundary_in_days_and_steps_after_the_range_end(load: Load):
    # Window 1 day = 86,400 s; the range is the one day of step 1, step 2 falls the next
    # day (after `end`) and still counts:
    # u1: B exactly 1 day later -> step 2; u2: B 1 day + 1 s later -> step 1.
    con = load(
        [
            ev("u1", T0, "A"),
            ev("u1", T0 + timedelta(days=1), "B"),
            ev("u2", T0, "A"),
            ev("u2", T0 + timedelta(days=1, seconds=1), "B"),
        ]
    )
    result = run(con, funnel("A", "B", window=(1, "day")))
    assert users(result) == [2, 1]
    assert seconds(result)[1] == (86_400.0, 86_400.0)


def test_steps_out_of_order_do_not_count(load: Load):
    # Funnel A -> B -> C.
    # u1: B then A -> the B before A is no step 2 -> step 1.
    # u2: A, C +5 s, B +10 s, C +20 s -> the first C precedes B; the second one counts -> 3.
    # u3: A, C +5 s, B +10 s -> step 2.
    con = load(
        [
            ev("u1", T0, "B"),
            ev("u1", T0 + 10 * S, "A"),
            ev("u2", T0, "A"),
            ev("u2", T0 + 5 * S, "C"),
            ev("u2", T0 + 10 * S, "B"),
            ev("u2", T0 + 20 * S, "C"),
            ev("u3", T0, "A"),
            ev("u3", T0 + 5 * S, "C"),
            ev("u3", T0 + 10 * S, "B"),
        ]
    )
    result = run(con, funnel("A", "B", "C"))
    assert users(result) == [3, 2, 1]
    # Step 2: u2 10 s, u3 10 s; step 3: u2 10 s (B +10 -> C +20).
    assert seconds(result)[1:] == [(10.0, 10.0), (10.0, 10.0)]


def test_the_same_event_twice_needs_two_events_at_distinct_times(load: Load):
    # Funnel A -> A.
    # u1: one A -> it cannot fill both steps -> 1.
    # u2: two A at the same second -> neither is strictly later than the other -> 1.
    # u3: A, A +5 s -> 2 (5 s).
    # u4: A, A (same second), A +7 s -> both attempts at T0 reach the A at +7 s -> 2 (7 s).
    con = load(
        [
            ev("u1", T0, "A"),
            ev("u2", T0, "A"),
            ev("u2", T0, "A"),
            ev("u3", T0, "A"),
            ev("u3", T0 + 5 * S, "A"),
            ev("u4", T0, "A"),
            ev("u4", T0, "A"),
            ev("u4", T0 + 7 * S, "A"),
        ]
    )
    result = run(con, funnel("A", "A"))
    assert users(result) == [4, 2]
    # Mean and median of 5 and 7: 6.
    assert seconds(result)[1] == (6.0, 6.0)


def test_an_exclusion_voids_one_attempt_while_another_converts(load: Load):
    # Funnel A -> B, exclusion X over the whole funnel.
    # u1: attempt at T0 voided by X +10 s (between A and B +20 s); the attempt at +30 s
    #     reaches B +40 s -> counted at step 2, 10 s.
    # u2: its only attempt is voided -> counted nowhere, not even at step 1.
    # u3: X +20 s comes after B +10 s -> not void -> step 2, 10 s.
    # u4: X at the same second as B (+10 s) is not strictly between -> step 2, 10 s.
    # u5: X at the same second as A is not after step 1 -> step 2, 10 s.
    con = load(
        [
            ev("u1", T0, "A"),
            ev("u1", T0 + 10 * S, "X"),
            ev("u1", T0 + 20 * S, "B"),
            ev("u1", T0 + 30 * S, "A"),
            ev("u1", T0 + 40 * S, "B"),
            ev("u2", T0, "A"),
            ev("u2", T0 + 10 * S, "X"),
            ev("u2", T0 + 20 * S, "B"),
            ev("u3", T0, "A"),
            ev("u3", T0 + 10 * S, "B"),
            ev("u3", T0 + 20 * S, "X"),
            ev("u4", T0, "A"),
            ev("u4", T0 + 10 * S, "X"),
            ev("u4", T0 + 10 * S, "B"),
            ev("u5", T0, "A"),
            ev("u5", T0, "X"),
            ev("u5", T0 + 10 * S, "B"),
        ]
    )
    result = run(con, funnel("A", "B", exclusions=[{"event": "X"}]))
    assert users(result) == [4, 4]
    assert seconds(result)[1] == (10.0, 10.0)
    # Without the exclusion u2 counts, and u1's earlier attempt (B after 20 s) is used:
    # step 2 times 20, 20, 10, 10, 10 -> mean 14, median 10.
    plain = run(con, funnel("A", "B"))
    assert users(plain) == [5, 5]
    assert seconds(plain)[1] == (14.0, 10.0)


def test_an_exclusion_when_the_later_step_is_never_reached(load: Load):
    # Funnel A -> B, window 1 hour, exclusion X; nobody reaches B.
    # u1: X +30 min, inside the window -> void.
    # u2: X +1 h exactly, the window's last second -> void.
    # u3: X +1 h +1 s, after the window -> not void -> step 1.
    # u4 never does A; their B only makes B a known event name.
    con = load(
        [
            ev("u4", T0, "B"),
            ev("u1", T0, "A"),
            ev("u1", T0 + 30 * MINUTE, "X"),
            ev("u2", T0, "A"),
            ev("u2", T0 + 60 * MINUTE, "X"),
            ev("u3", T0, "A"),
            ev("u3", T0 + 60 * MINUTE + S, "X"),
        ]
    )
    result = run(con, funnel("A", "B", window=(1, "hour"), exclusions=[{"event": "X"}]))
    assert users(result) == [1, 0]
    assert result.steps[1].conversion_from_start == 0.0
    assert seconds(result)[1] == (None, None)


def test_an_exclusion_between_two_given_steps(load: Load):
    # Funnel A -> B -> C, exclusion X only between steps 2 and 3.
    # u1: X before B (between steps 1 and 2) -> ignored -> step 3.
    # u2: X between B and C -> void.
    # u3: X after B, C never comes, X inside the window -> void.
    # u4: never reaches B, so step 2 is never anchored -> the X does not void -> step 1.
    con = load(
        [
            ev("u1", T0, "A"),
            ev("u1", T0 + 5 * S, "X"),
            ev("u1", T0 + 10 * S, "B"),
            ev("u1", T0 + 20 * S, "C"),
            ev("u2", T0, "A"),
            ev("u2", T0 + 10 * S, "B"),
            ev("u2", T0 + 15 * S, "X"),
            ev("u2", T0 + 20 * S, "C"),
            ev("u3", T0, "A"),
            ev("u3", T0 + 10 * S, "B"),
            ev("u3", T0 + 15 * S, "X"),
            ev("u4", T0, "A"),
            ev("u4", T0 + 15 * S, "X"),
        ]
    )
    definition = funnel("A", "B", "C", exclusions=[{"event": "X", "from_step": 2, "to_step": 3}])
    assert users(run(con, definition)) == [2, 1, 1]


def test_identity_merge_two_devices_one_person(load: Load):
    # The same stitched user browses on a phone and buys on a laptop: one person who
    # reaches step 2; the device breakdown takes step 1's device.
    con = load(
        [
            ev("u1", T0, "A", device="mobile"),
            ev("u1", T0 + MINUTE, "B", device="desktop"),
        ]
    )
    result = run(con, funnel("A", "B"), breakdown="device_type")
    assert users(result) == [1, 1]
    assert [(b.breakdown_value, [s.users for s in b.steps]) for b in result.breakdowns] == [
        ("mobile", [1, 1])
    ]


def test_the_counted_attempt_is_the_furthest_then_the_earliest(load: Load):
    # Funnel A -> B -> C, window 1 hour. One person, three attempts:
    # a1: A T0 -> B +10 min -> C +70 min is past T0 + 1 h -> furthest 2.
    # a2: A +20 min -> B +30 min -> C +70 min (<= +80 min) -> furthest 3.
    # a3: A +25 min -> B +30 min -> C +70 min -> furthest 3, but later than a2.
    # Counted: a2 (furthest, earliest of the two): B after 10 min, C after 40 min.
    con = load(
        [
            ev("u1", T0, "A"),
            ev("u1", T0 + 10 * MINUTE, "B"),
            ev("u1", T0 + 20 * MINUTE, "A"),
            ev("u1", T0 + 25 * MINUTE, "A"),
            ev("u1", T0 + 30 * MINUTE, "B"),
            ev("u1", T0 + 70 * MINUTE, "C"),
        ]
    )
    result = run(con, funnel("A", "B", "C", window=(1, "hour")))
    assert users(result) == [1, 1, 1]
    assert seconds(result) == [(None, None), (600.0, 600.0), (2400.0, 2400.0)]


def test_conversion_rates_drop_off_and_an_interpolated_median(load: Load):
    # Funnel A -> B. Five people enter; four reach B after 10, 20, 40 and 100 s.
    # users [5, 4]; conversion 4/5 = 0.8; drop-off 1, rate 1/5 = 0.2;
    # mean (10 + 20 + 40 + 100) / 4 = 42.5; median of an even count = (20 + 40) / 2 = 30.
    events = [ev(f"u{i}", T0, "A") for i in range(1, 6)]
    events += [
        ev(f"u{i}", T0 + gap * S, "B")
        for i, gap in zip(range(1, 5), (10, 20, 40, 100), strict=True)
    ]
    result = run(load(events), funnel("A", "B"))
    first, second = result.steps
    assert (first.users, first.conversion_from_start, first.conversion_from_previous) == (
        5,
        1.0,
        1.0,
    )
    assert (first.drop_off_users, first.drop_off_rate) == (0, 0.0)
    assert second.users == 4
    assert second.conversion_from_start == second.conversion_from_previous == 0.8
    assert (second.drop_off_users, second.drop_off_rate) == (1, 0.2)
    assert (second.avg_seconds_from_previous, second.median_seconds_from_previous) == (42.5, 30.0)


def test_breakdowns_by_first_touch_source_and_by_the_counted_attempts_device(load: Load):
    # Funnel A -> B.
    # u1 (google): A on mobile at T0 and on desktop at +10 s, B at +20 s: both attempts
    #     reach step 2, the earlier (mobile) one counts.
    # u2 (google): A on desktop, no B.
    # u3 (no dim_users row) and u4 (source NULL): both '(none)'; u3 converts on tablet.
    # u5 (newsletter): two A at the same second; the tie goes to the smaller message id,
    #     "m-a" on mobile over "m-b" on desktop.
    con = load(
        [
            ev("u1", T0, "A", device="mobile"),
            ev("u1", T0 + 10 * S, "A", device="desktop"),
            ev("u1", T0 + 20 * S, "B"),
            ev("u2", T0, "A", device="desktop"),
            ev("u3", T0, "A", device="tablet"),
            ev("u3", T0 + 20 * S, "B"),
            ev("u4", T0, "A", device="desktop"),
            ev("u5", T0, "A", device="desktop", message_id="m-b"),
            ev("u5", T0, "A", device="mobile", message_id="m-a"),
        ],
        {"u1": "google", "u2": "google", "u4": None, "u5": "newsletter"},
    )
    definition = funnel("A", "B")

    def split(result: FunnelResult) -> list[tuple[str, list[int]]]:
        return [(b.breakdown_value, [s.users for s in b.steps]) for b in result.breakdowns]

    by_source = run(con, definition, breakdown="first_touch_source")
    assert by_source.breakdown == "first_touch_source"
    assert users(by_source) == [5, 2]
    # Most step-1 users first, then by value.
    assert split(by_source) == [("(none)", [2, 1]), ("google", [2, 1]), ("newsletter", [1, 0])]
    # mobile: u1 (converted), u5; desktop: u2, u4; tablet: u3 (converted).
    by_device = run(con, definition, breakdown="device_type")
    assert split(by_device) == [("desktop", [2, 0]), ("mobile", [2, 1]), ("tablet", [1, 1])]
    assert run(con, definition).breakdowns == []


def test_page_view_steps_narrowed_by_content_type_path_prefix_and_properties(load: Load):
    # Step 1: a video page view under /watch/; step 2: `Subscription Started` with
    # plan = "pro", trial = true, seats = 3 (compared as JSON text).
    # u1: /watch/1 video, then the matching subscription -> 2.
    # u2: /watch/1 but an article -> no step 1.
    # u3: /watchx is not under /watch/ -> no step 1.
    # u4: trial false -> 1.   u5: plan free -> 1.   u6: no seats -> 1.
    pro = '{"plan": "pro", "trial": true, "seats": 3}'
    con = load(
        [
            ev("u1", T0, page=True, path="/watch/1", content_type="video"),
            ev("u1", T0 + MINUTE, "Subscription Started", properties=pro),
            ev("u2", T0, page=True, path="/watch/1", content_type="article"),
            ev("u2", T0 + MINUTE, "Subscription Started", properties=pro),
            ev("u3", T0, page=True, path="/watchx", content_type="video"),
            ev("u3", T0 + MINUTE, "Subscription Started", properties=pro),
            ev("u4", T0, page=True, path="/watch/2", content_type="video"),
            ev(
                "u4",
                T0 + MINUTE,
                "Subscription Started",
                properties='{"plan": "pro", "trial": false, "seats": 3}',
            ),
            ev("u5", T0, page=True, path="/watch/3", content_type="video"),
            ev(
                "u5",
                T0 + MINUTE,
                "Subscription Started",
                properties='{"plan": "free", "trial": true, "seats": 3}',
            ),
            ev("u6", T0, page=True, path="/watch/4", content_type="video"),
            ev(
                "u6",
                T0 + MINUTE,
                "Subscription Started",
                properties='{"plan": "pro", "trial": true}',
            ),
        ]
    )
    definition = funnel(
        {"page_view": True, "content_type": "video", "path_prefix": "/watch/"},
        {"event": "Subscription Started", "properties": {"plan": "pro", "trial": True, "seats": 3}},
    )
    assert users(run(con, definition)) == [4, 1]


def test_a_path_prefix_is_literal_and_a_path_is_exact(load: Load):
    # Prefix "/50%_": LIKE would read % and _ as wildcards; here only the literal text
    # matches. u1: /50%_off then /done -> 2; u2: /50xyoff -> no step 1;
    # u3: /50%_off then /done/ (not the exact path) -> 1.
    con = load(
        [
            ev("u1", T0, page=True, path="/50%_off"),
            ev("u1", T0 + S, page=True, path="/done"),
            ev("u2", T0, page=True, path="/50xyoff"),
            ev("u2", T0 + S, page=True, path="/done"),
            ev("u3", T0, page=True, path="/50%_off"),
            ev("u3", T0 + S, page=True, path="/done/"),
        ]
    )
    definition = funnel(
        {"page_view": True, "path_prefix": "/50%_"}, {"page_view": True, "path": "/done"}
    )
    assert users(run(con, definition)) == [2, 1]


def test_client_text_travels_as_bound_parameters(load: Load):
    nasty = "'; drop table fct_events; --"
    con = load(
        [
            ev("u1", T0, nasty),
            ev(
                "u1", T0 + S, page=True, path=nasty, properties='{"' + nasty + '": "' + nasty + '"}'
            ),
        ]
    )
    definition = funnel(
        nasty,
        {"page_view": True, "path_prefix": nasty, "properties": {nasty: nasty}},
        exclusions=[{"event": nasty}],
    )
    query = FunnelQuery(definition=definition, start=DAY, end=DAY)
    sql, params = compile_funnel(query)
    assert nasty not in sql
    assert nasty in params.values()
    # The text matched as data: u1 reaches both steps (the exclusion event is the step-1
    # event itself, not after it).
    assert users(run_funnel(con, query)) == [1, 1]
    (events,) = con.execute("select count(*) from fct_events").fetchone()
    assert events == 2


def test_no_attempts_gives_zero_users_and_no_rates(load: Load):
    # The only A is the day before the range.
    con = load([ev("u1", T0 - timedelta(days=1), "A"), ev("u1", T0, "B")])
    result = run(con, funnel("A", "B"), breakdown="device_type")
    assert users(result) == [0, 0]
    assert all(
        step.conversion_from_start is None and step.conversion_from_previous is None
        for step in result.steps
    )
    assert result.breakdowns == []


def test_a_range_counts_each_person_once(load: Load):
    # u1 enters on two days and converts only on the second: one person at step 2.
    con = load(
        [
            ev("u1", T0, "A"),
            ev("u1", T0 + timedelta(days=1), "A"),
            ev("u1", T0 + timedelta(days=1, seconds=5), "B"),
        ]
    )
    result = run(con, funnel("A", "B", window=(1, "hour")), end=DAY + timedelta(days=1))
    assert users(result) == [1, 1]
    assert seconds(result)[1] == (5.0, 5.0)


def test_unknown_event_names_are_refused_with_where_they_were_used(load: Load):
    con = load([ev("u1", T0, "A")])
    with pytest.raises(QueryError, match=r"step 2: unknown event 'Nope'") as error:
        run(con, funnel("A", "Nope", exclusions=[{"event": "Also Nope"}]))
    assert "exclusion 1: unknown event 'Also Nope'" in str(error.value)


def test_end_before_start_is_refused(load: Load):
    with pytest.raises(QueryError, match=r"end \(2026-03-01\) is before start \(2026-03-02\)"):
        run(load([ev("u1", T0, "A"), ev("u1", T0, "B")]), funnel("A", "B"), end=date(2026, 3, 1))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"steps": []}, "List should have at least 2 items"),
        ({"steps": [{"event": "A"}]}, "List should have at least 2 items"),
        ({"steps": [{"event": "A"}] * 21}, "List should have at most 20 items"),
        (
            {"steps": [{"event": "A"}, {"event": "B"}], "conversion_window": {"value": 0}},
            "conversion_window.value\n  Input should be greater than 0",
        ),
        (
            {"steps": [{"event": "A", "page_view": True}, {"event": "B"}]},
            "a step needs exactly one of `event` or `page_view: true`",
        ),
        (
            {
                "steps": [{"event": "A"}, {"event": "B"}],
                "exclusions": [{"event": "X", "to_step": 3}],
            },
            "needs 1 <= from_step < to_step <= 2",
        ),
    ],
)
def test_malformed_definitions_are_refused_by_the_schema(raw: dict[str, Any], message: str):
    with pytest.raises(ValidationError, match=message):
        FunnelDefinition.model_validate(raw)
