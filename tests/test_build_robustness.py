"""Ordinary but odd events, each of which used to stop every build, go through one real
build: `ringside build` in a fresh process, as a user runs it, on DuckDB. The inputs the
collector refuses (1970, 2099, a year-1 sentAt, JSON 300 levels deep) are sent to the
same home first: quarantined with their reasons, and the build after them succeeds.

Every expectation below is derived by hand from the events sent here."""

import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routes.collector import router
from ringside.core.settings import Settings, get_settings

AUTH = ("demo-write-key", "")
DAY_1 = "2025-12-30"  # before 2026-01-01, the first partition day that used to be fixed
DAY_2 = "2026-01-02"
NO_UA = {"ip": "203.0.113.9"}  # a server-side SDK's context: no userAgent
FIREFOX = {"userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}


def nested(depth: int) -> dict[str, Any]:
    """An object nesting ``depth`` levels."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def ev(mid: str, day: str, **fields: Any) -> dict[str, Any]:
    return {"messageId": mid, "timestamp": f"{day}T10:00:00Z"} | fields


EVENTS = [
    # The README's example as a server would send it: no user agent at all.
    ev("srv-page", DAY_1, type="page", anonymousId="srv", properties={"path": "/"}),
    ev("srv-track", DAY_1, type="track", event="Content Liked", anonymousId="srv", context=NO_UA),
    # An alias without an anonymousId (server-side SDKs): identity only, no session.
    ev("alias", DAY_1, type="alias", userId="u-alias", previousId="srv"),
    # Numbers that are not numbers.
    ev("heartbeat", DAY_1, type="track", event="Page Heartbeat", anonymousId="web", context=FIREFOX,
       properties={"seconds": "ten", "content_id": "article:1"}),
    ev("heartbeat-negative", DAY_1, type="track", event="Page Heartbeat", anonymousId="web",
       context=FIREFOX, properties={"seconds": -5, "content_id": "article:1"}),
    ev("search", DAY_1, type="track", event="Products Searched", anonymousId="web",
       context=FIREFOX, properties={"query": "Jones", "results_count": "many"}),
    ev("click", DAY_1, type="track", event="Search Result Clicked", anonymousId="web",
       context=FIREFOX, properties={"query": "jones", "position": "abc", "*": 1}),
    ev("order-free", DAY_2, type="track", event="Order Completed", userId="u-buyer",
       properties={"revenue": "free", "currency": "USD"}),
    ev("order-eur", DAY_2, type="track", event="Order Completed", userId="u-buyer",
       properties={"revenue": 9.99, "currency": "eur"}),
    # A refund sent as a negative purchase: summed in, the day's revenue went negative and
    # the marts' range tests failed the build.
    ev("order-refund", DAY_2, type="track", event="Order Completed", userId="u-buyer",
       properties={"revenue": -30, "currency": "USD"}),
    # A content type and a plan outside the tracking plan.
    ev("podcast", DAY_2, type="page", anonymousId="web", context=FIREFOX,
       properties={"content_type": "podcast", "content_id": "podcast:1", "path": "/p/1"}),
    ev("identify", DAY_2, type="identify", userId="u-buyer", traits={"plan": "enterprise"}),
    # NUL, which PostgreSQL cannot store: replaced by U+FFFD at ingestion.
    ev("nul", DAY_2, type="screen", name="Fight\u0000Card", anonymousId="web", context=FIREFOX),
]  # fmt: skip

# What the collector refuses, each with its reason, in the same home before the build.
REFUSED = [
    (ev("epoch", "1970-01-01", type="page", anonymousId="x"), "timestamp"),
    (ev("far-future", "2099-06-01", type="page", anonymousId="x"), "timestamp"),
    (ev("year-1-sent", DAY_1, type="page", anonymousId="x", sentAt="0001-01-01T00:00:00Z"),
     "sentAt"),
    (ev("deep", DAY_1, type="page", anonymousId="x", properties=nested(300)), "$"),
]  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("robust") / "home"
    settings = Settings(home=home)
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_settings] = lambda: settings
    client = TestClient(app)
    answer = client.post("/v1/batch", json={"batch": EVENTS}, auth=AUTH)
    assert answer.json() == {"success": True, "accepted": len(EVENTS), "rejected": []}
    refused = client.post("/v1/batch", json={"batch": [e for e, _ in REFUSED]}, auth=AUTH)
    assert refused.status_code == 400  # none of them was accepted
    assert [(r["messageId"], r["field"]) for r in refused.json()["rejected"]] == [
        (e["messageId"], field) for e, field in REFUSED
    ]
    # A fresh process, as a user runs it, with none of the tests' settings.
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("RINGSIDE_", "DAGSTER_"))
    } | {"RINGSIDE_HOME": str(home)}
    ringside = str(Path(sys.executable).parent / "ringside")
    run = subprocess.run(
        [ringside, "build", "--no-models"], env=environment, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"2 event days read ({DAY_1} .. {DAY_2})" in run.stdout
    yield settings.layout.serving_path


def query(served: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(served), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_event_but_the_alias_is_built_and_published(built: Path):
    built_ids = {mid for (mid,) in query(built, "select message_id from fct_events")}
    assert built_ids == {e["messageId"] for e in EVENTS} - {"alias"}


def test_events_without_a_user_agent_have_the_device_type_unknown(built: Path):
    rows = query(built, "select message_id, device_type from fct_events order by 1")
    unknown = {mid for mid, device in rows if device == "unknown"}
    orders = {"order-free", "order-eur", "order-refund"}
    assert unknown == {"srv-page", "srv-track", "identify", *orders}
    slices = query(
        built,
        f"select daily_active_users from mart_active_users_daily "
        f"where activity_date = '{DAY_1}' and device_type = 'unknown'",
    )
    # DAY_1 without a user agent: the device `srv` (its page and its like).
    assert slices == [(1,)]


def test_an_alias_opens_no_session(built: Path):
    devices = {device for (device,) in query(built, "select device_id from fct_sessions")}
    assert devices == {"srv", "web", "user:u-buyer"}


def test_numbers_that_are_not_numbers_become_null_and_money_is_exact(built: Path):
    revenue = dict(
        query(
            built,
            "select message_id, revenue_usd from fct_events where event_name = 'Order Completed'",
        )
    )
    # 9.99 EUR at the seed's 1.08 USD per EUR, exactly; "free" and -30 are no revenue.
    assert revenue == {"order-free": None, "order-eur": Decimal("10.7892"), "order-refund": None}
    types = dict(
        query(
            built,
            "select table_name || '.' || column_name, data_type from information_schema.columns "
            "where column_name in ('revenue', 'revenue_usd') and table_name in "
            "('fct_events', 'mart_cohort_retention', 'fct_sessions')",
        )
    )
    assert len(types) == 4 and all(
        t.startswith("DECIMAL(") and t.endswith(",4)") for t in types.values()
    ), types  # sums widen the precision, never the 4 places
    (engaged,) = query(built, "select sum(engaged_minutes) from mart_user_engagement_daily")
    assert engaged == (0,)  # the heartbeats said "ten" and -5 seconds
    clicks = query(built, "select position from mart_search_position_ctr_daily")
    assert clicks == [] or all(position is not None for (position,) in clicks)


def test_a_day_before_the_old_fixed_partition_start_is_built(built: Path):
    days = {str(day) for (day,) in query(built, "select distinct event_date from fct_events")}
    assert days == {DAY_1, DAY_2}


def test_nul_is_built_as_the_replacement_character(built: Path):
    assert query(built, "select page_name from fct_events where message_id = 'nul'") == [
        ("Fight\ufffdCard",)
    ]


def test_content_outside_the_tracking_plan_is_kept(built: Path):
    rows = query(
        built,
        "select content_type, views from mart_content_performance_daily "
        "where content_id = 'podcast:1'",
    )
    assert rows == [("podcast", 1)]
