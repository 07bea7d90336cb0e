"""The business metrics mart over hand-built events whose figures are derived by hand,
pushed through the real pipeline: NDJSON -> ingestion -> Dagster/dbt -> the warehouse.

Four days across a month boundary: Fri 2026-01-30, Sat 01-31 (ISO week of Jan 26 and
January), Sun 02-01 (still the week of Jan 26, but February), Mon 02-02 (week of Feb 2).
Users (stitched: a device takes its last known user, retroactively):

    Jan 30  d1/u1 web:  page (article:1), heartbeat 30 s, Signed Up, monthly sub 10 USD
            d2 app:     screen (anonymous)
            d3/u2 web:  page, annual sub 120 USD
    Jan 31  d4/u3 web:  page (article:1), Signed Up, annual sub 240 USD
            d1/u1 web:  Subscription Cancelled (an active event, not a view)
            d2 app:     screen (video:1), Order Completed 50 USD (pay-per-view)
    Feb 1   d3/u2 web:  page, Order Completed 40 EUR (x 1.08 = 43.2 USD), 2 searches
                        ("jones", "pereira") and 1 result click
            d5 app:     screen (anonymous)
    Feb 2   d4/u3 web:  page
            d6/u4 app:  screen, Signed Up

Day by day (DAU on desktop = web, on mobile = the app; conv = visitors who signed up):

    day    DAU desk mob MAU  signups visitors conv  subs canc start paying MRR  revenue  PPV
    01-30   3    2   1   3     1       3      1     2    0    0     2    20    130     0
    01-31   3    2   1   4     1       2      1     1    1    2     2    30    290    50
    02-01   2    1   1   5     0       2      0     0    0    2     2    30    43.2  43.2
    02-02   2    1   1   6     1       2      1     0    0    2     2    30      0     0

MRR: 01-30 = 10 (monthly) + 120 / 12 (annual) = 20; 01-31 u1 cancels (-10) and u3 adds
240 / 12 = 20, so 30. MAU is the 28-day window, which here holds every user seen so far.
"""

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ingestion.batch import ingest_paths
from orchestration.runner import run_build
from ringside.bi.kpis import load_kpi_config
from ringside.core.frames import days_between
from ringside.core.settings import Settings
from ringside.core.warehouse import read_frame
from tests.platforms import platform_environment

WEB_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
APP_UA = "RingsideApp/3.1 (iPhone; iOS 17.5; Scale/3.00)"
# Devices running the app (device type mobile, screen views); the others are web browsers.
APP_DEVICES = {"d2", "d5", "d6"}


def event(
    mid: str, kind: str, ts: str, device: str, user: str | None = None, **extra: object
) -> dict[str, object]:
    body: dict[str, object] = {
        "messageId": mid,
        "type": kind,
        "anonymousId": device,
        "timestamp": ts,
        "sentAt": ts,
        "receivedAt": ts,
        "context": {"userAgent": APP_UA if device in APP_DEVICES else WEB_UA},
    }
    if user is not None:
        body["userId"] = user
    body.update(extra)
    return body


def track(mid: str, ts: str, device: str, name: str, user: str | None = None, **props: object):
    return event(mid, "track", ts, device, user, event=name, properties=props)


def view(mid: str, ts: str, device: str, user: str | None = None, content_id: str | None = None):
    kind = "screen" if device in APP_DEVICES else "page"
    properties = {"content_id": content_id} if content_id else {}
    return event(mid, kind, ts, device, user, properties=properties)


EVENTS = [
    # Fri Jan 30
    view("a1", "2026-01-30T10:00:00Z", "d1", content_id="article:1"),
    track("a2", "2026-01-30T10:00:30Z", "d1", "Page Heartbeat", content_id="article:1", seconds=30),
    track("a3", "2026-01-30T10:01:00Z", "d1", "Signed Up", "u1", method="email"),
    track(
        "a4",
        "2026-01-30T10:02:00Z",
        "d1",
        "Subscription Started",
        "u1",
        plan="monthly",
        revenue=10,
        currency="USD",
    ),
    view("a5", "2026-01-30T11:00:00Z", "d2"),
    view("a6", "2026-01-30T12:00:00Z", "d3", "u2"),
    track(
        "a7",
        "2026-01-30T12:05:00Z",
        "d3",
        "Subscription Started",
        "u2",
        plan="annual",
        revenue=120,
        currency="USD",
    ),
    # Sat Jan 31
    view("b1", "2026-01-31T09:00:00Z", "d4", content_id="article:1"),
    track("b2", "2026-01-31T09:01:00Z", "d4", "Signed Up", "u3", method="google"),
    track(
        "b3",
        "2026-01-31T09:02:00Z",
        "d4",
        "Subscription Started",
        "u3",
        plan="annual",
        revenue=240,
        currency="USD",
    ),
    track(
        "b4",
        "2026-01-31T12:00:00Z",
        "d1",
        "Subscription Cancelled",
        "u1",
        plan="monthly",
        reason="price",
    ),
    view("b5", "2026-01-31T13:00:00Z", "d2", content_id="video:1"),
    track(
        "b6",
        "2026-01-31T13:05:00Z",
        "d2",
        "Order Completed",
        order_id="o1",
        revenue=50,
        currency="USD",
        products=[{"product_id": "ppv-1"}],
    ),
    # Sun Feb 1
    view("c1", "2026-02-01T10:00:00Z", "d3", "u2"),
    track(
        "c2",
        "2026-02-01T10:05:00Z",
        "d3",
        "Order Completed",
        "u2",
        order_id="o2",
        revenue=40,
        currency="EUR",
        products=[{"product_id": "ppv-1"}],
    ),
    track(
        "c3",
        "2026-02-01T10:10:00Z",
        "d3",
        "Products Searched",
        "u2",
        query="jones",
        results_count=5,
    ),
    track(
        "c4", "2026-02-01T10:10:10Z", "d3", "Search Result Clicked", "u2", query="jones", position=1
    ),
    track(
        "c5",
        "2026-02-01T10:12:00Z",
        "d3",
        "Products Searched",
        "u2",
        query="pereira",
        results_count=3,
    ),
    view("c6", "2026-02-01T11:00:00Z", "d5"),
    # Mon Feb 2
    view("e1", "2026-02-02T08:00:00Z", "d4", "u3"),
    view("e2", "2026-02-02T09:00:00Z", "d6"),
    track("e3", "2026-02-02T09:01:00Z", "d6", "Signed Up", "u4", method="email"),
]

FIRST_DAY, LAST_DAY = date(2026, 1, 30), date(2026, 2, 2)


def build_business_warehouse(root: Path) -> Settings:
    """The hand-built events ingested and built in their own RINGSIDE_HOME; the
    `business_warehouse` fixture (conftest.py) builds it once for the session, and each
    module points the environment at it with `platform_environment`."""
    with platform_environment(Settings(home=root / "home")) as settings:
        source = root / "events.ndjson"
        source.write_text("".join(json.dumps(row) + "\n" for row in EVENTS))
        report = ingest_paths([source], settings.layout.ensure(), settings)
        assert report.accepted == len(EVENTS) and report.quarantined == 0
        run_build(days_between(FIRST_DAY, LAST_DAY))
        return settings


@pytest.fixture(scope="module")
def warehouse(business_warehouse: Settings) -> Iterator[Settings]:
    with platform_environment(business_warehouse) as settings:
        yield settings


Key = tuple[str, str, str]  # metric, period_start, dimension_value


def mart(settings: Settings, grain: str) -> dict[Key, dict[str, object]]:
    frame = read_frame(
        settings,
        f"select * from mart_business_metrics_daily where grain = '{grain}'",
    )
    frame = frame.astype(object).where(frame.notna(), None)
    return {
        (row["metric"], str(row["period_start"])[:10], row["dimension_value"]): row
        for row in frame.to_dict("records")
    }


def value_of(rows: dict[Key, dict[str, object]], metric: str, start: str, slice_: str = "all"):
    return rows[(metric, start, slice_)]["value"]


def test_daily_values_match_the_hand_derived_table(warehouse: Settings):
    day = mart(warehouse, "day")
    days = ["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"]
    expected_columns = {
        "dau": [3, 3, 2, 2],
        "mau": [3, 4, 5, 6],
        "new_signups": [1, 1, 0, 1],
        "new_subscriptions": [2, 1, 0, 0],
        "subscription_cancellations": [0, 1, 0, 0],
        "paying_subscribers": [2, 2, 2, 2],
        "mrr_usd": [20, 30, 30, 30],
        "total_revenue_usd": [130, 290, 43.2, 0],
        "ppv_revenue_usd": [0, 50, 43.2, 0],
        # article:1 twice and video:1 once; the other views have no content_id.
        "content_views": [1, 2, 0, 0],
        # visitors converted / visitors: 1/3, 1/2, 0/2, 1/2.
        "visitor_signup_conversion": [1 / 3, 1 / 2, 0, 1 / 2],
        # cancellations / subscribers at the start of the day (none on Jan 30: NULL).
        "subscriber_churn_rate": [None, 1 / 2, 0, 0],
        # revenue / MAU.
        "arpu_usd": [130 / 3, 290 / 4, 43.2 / 5, 0],
        "stickiness": [3 / 3, 3 / 4, 2 / 5, 2 / 6],
        # 30 heartbeat seconds over Jan 30's 3 active users.
        "avg_engaged_seconds_per_user": [10, 0, 0, 0],
        # 1 click / 2 searches on Feb 1; no searches on the other days: NULL.
        "search_ctr": [None, None, 1 / 2, None],
    }
    for metric, expected in expected_columns.items():
        actual = [value_of(day, metric, d) for d in days]
        assert actual == pytest.approx(expected), metric
    # The audience metrics per device type (web = desktop, the app = mobile).
    assert [value_of(day, "dau", d, "desktop") for d in days] == [2, 2, 1, 1]
    assert [value_of(day, "dau", d, "mobile") for d in days] == [1, 1, 1, 1]
    # Money is not split by device.
    assert ("mrr_usd", "2026-01-30", "desktop") not in day
    assert all(row["is_complete"] for row in day.values())


def test_weekly_and_monthly_roll_ups(warehouse: Settings):
    week, month = mart(warehouse, "week"), mart(warehouse, "month")
    # ISO week of Jan 26 holds Jan 30, 31 and Feb 1: flows sum, stocks take Feb 1.
    assert value_of(week, "new_signups", "2026-01-26") == 2
    assert value_of(week, "total_revenue_usd", "2026-01-26") == pytest.approx(130 + 290 + 43.2)
    assert value_of(week, "mrr_usd", "2026-01-26") == 30
    assert value_of(week, "mau", "2026-01-26") == 5
    assert value_of(week, "dau", "2026-01-26") == pytest.approx((3 + 3 + 2) / 3)
    # Rates from summed numerators and denominators: (1 + 1 + 0) / (3 + 2 + 2), not the
    # mean of 1/3, 1/2 and 0; stickiness (3 + 3 + 2) / (3 + 4 + 5).
    assert value_of(week, "visitor_signup_conversion", "2026-01-26") == pytest.approx(2 / 7)
    assert value_of(week, "stickiness", "2026-01-26") == pytest.approx(8 / 12)
    # ARPU: the week's revenue / the MAU of its last day.
    assert value_of(week, "arpu_usd", "2026-01-26") == pytest.approx(463.2 / 5)
    # Nobody subscribed at the start of the week (Jan 30 starts empty): no churn rate.
    assert value_of(week, "subscriber_churn_rate", "2026-01-26") is None
    assert value_of(week, "new_signups", "2026-02-02") == 1

    # January holds Jan 30-31, February Feb 1-2: the month boundary splits the week.
    assert value_of(month, "new_signups", "2026-01-01") == 2
    assert value_of(month, "new_signups", "2026-02-01") == 1
    assert value_of(month, "total_revenue_usd", "2026-01-01") == pytest.approx(420)
    assert value_of(month, "ppv_revenue_usd", "2026-02-01") == pytest.approx(43.2)
    assert value_of(month, "visitor_signup_conversion", "2026-01-01") == pytest.approx(2 / 5)
    assert value_of(month, "visitor_signup_conversion", "2026-02-01") == pytest.approx(1 / 4)
    # February: 0 cancellations / the 2 subscribers at the start of Feb 1.
    assert value_of(month, "subscriber_churn_rate", "2026-02-01") == 0
    assert value_of(month, "subscriber_churn_rate", "2026-01-01") is None
    assert value_of(month, "mrr_usd", "2026-01-01") == 30
    # Weeks and months cut by the first or last day of data are not complete.
    assert not week[("new_signups", "2026-01-26", "all")]["is_complete"]
    assert not month[("new_signups", "2026-02-01", "all")]["is_complete"]


def test_comparisons_growth_and_targets(warehouse: Settings):
    day, week, month = (mart(warehouse, grain) for grain in ("day", "week", "month"))

    revenue = day[("total_revenue_usd", "2026-01-31", "all")]
    assert revenue["previous_period_value"] == pytest.approx(130)
    assert revenue["growth_vs_previous_period"] == pytest.approx((290 - 130) / 130)
    # Jan 24 and Dec 31 are not in the data: NULL, never 0.
    assert revenue["same_period_last_week_value"] is None
    assert revenue["same_period_last_month_value"] is None
    assert revenue["growth_vs_last_week"] is None
    assert day[("total_revenue_usd", "2026-01-30", "all")]["previous_period_value"] is None
    # Feb 2's revenue 0 against Feb 1's 43.2: -100 %; Feb 1 against Jan 31: 43.2 / 290 - 1.
    assert day[("total_revenue_usd", "2026-02-02", "all")]["growth_vs_previous_period"] == -1
    # Signups on Feb 2 (1) against Feb 1 (0): a 0 comparison gives no growth.
    signups = day[("new_signups", "2026-02-02", "all")]
    assert signups["previous_period_value"] == 0 and signups["growth_vs_previous_period"] is None

    # Week of Feb 2 against the week of Jan 26 (its previous and same-period-last-week).
    weekly = week[("new_signups", "2026-02-02", "all")]
    assert weekly["previous_period_value"] == 2
    assert weekly["same_period_last_week_value"] == 2
    assert weekly["growth_vs_previous_period"] == pytest.approx((1 - 2) / 2)
    # February against January; a month has no same period last week.
    monthly = month[("total_revenue_usd", "2026-02-01", "all")]
    assert monthly["previous_period_value"] == pytest.approx(420)
    assert monthly["same_period_last_month_value"] == pytest.approx(420)
    assert monthly["growth_vs_previous_period"] == pytest.approx((43.2 - 420) / 420)
    assert monthly["same_period_last_week_value"] is None

    # KPI targets come from ringside/bi/kpis.yml through stg_app__kpi_targets.
    kpis = {kpi.metric: kpi for kpi in load_kpi_config()}
    mrr_day_target = kpis["mrr_usd"].targets["day"]
    mrr = day[("mrr_usd", "2026-02-02", "all")]
    assert mrr["is_kpi"] and mrr["target"] == mrr_day_target
    assert mrr["tolerance"] == kpis["mrr_usd"].tolerance
    assert mrr["vs_target"] == pytest.approx(30 / mrr_day_target - 1)
    signup_month = month[("new_signups", "2026-01-01", "all")]
    assert signup_month["vs_target"] == pytest.approx(2 / kpis["new_signups"].targets["month"] - 1)
    # Slices carry no target; metrics without a KPI are not KPIs.
    assert day[("dau", "2026-02-02", "desktop")]["target"] is None
    content = day[("content_views", "2026-02-02", "all")]
    assert not content["is_kpi"] and content["vs_target"] is None


def test_catalog_labels_reach_the_mart(warehouse: Settings):
    frame = read_frame(
        warehouse,
        "select distinct metric, label, category, unit, direction from mart_business_metrics_daily",
    )
    rows = {row["metric"]: row for row in frame.to_dict("records")}
    assert len(rows) == 17
    assert rows["subscriber_churn_rate"]["direction"] == "down"
    assert rows["mrr_usd"]["unit"] == "usd" and rows["mrr_usd"]["category"] == "revenue"
    assert rows["dau"]["label"] == "Daily active users"
