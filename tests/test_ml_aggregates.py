"""The ML inputs are aggregates the warehouse computes (issue 19, item 4): hand-built
events, pushed through ingestion and the real build (DuckDB, and PostgreSQL when a server
is reachable), give the aggregates, features, recommendations and hit rates derived by
hand below; and the same as the per-view computation on the views themselves."""

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from ingestion.batch import ingest_paths
from ml_assets import inputs
from ml_assets.churn_features import features_at, labels_at
from ml_assets.content_insights import content_insights
from ml_assets.recommendations import co_consumption, evaluate_hit_rate, hit_rates, similar_items
from ml_assets.segments import BEHAVIOUR_COLUMNS, behaviour_features
from orchestration.runner import landed_days, run_build
from ringside.core.settings import Settings
from ringside.core.warehouse import read_frame
from tests.platforms import platform_environment
from tests.postgres import throwaway_database
from tests.test_warehouse_handbuilt import IOS_UA, event, heartbeat, write_ndjson

C = date(2026, 8, 31)  # the churn cutoff: a Monday


def d(n: int) -> date:
    """n days before the cutoff."""
    return C - timedelta(days=n)


def at(n: int, clock: str) -> str:
    return f"{d(n).isoformat()}T{clock}Z"


def page(mid: str, ts: str, anon: str, content_id: str, **extra: object) -> dict[str, object]:
    kind = "video" if content_id.startswith("v") else "article"
    props = {"content_type": kind, "content_id": content_id, "path": f"/{kind}/{content_id}"}
    return event(mid, "page", ts, anon, properties=props, **extra)


def app(mid: str, kind: str, ts: str, session: str, **extra: object) -> dict[str, object]:
    """An event of ben's iPhone app, grouped by its client session id."""
    return event(mid, kind, ts, "ben", context={"userAgent": IOS_UA, "sessionId": session}, **extra)


def screen(mid: str, ts: str, session: str, content_id: str) -> dict[str, object]:
    kind = "video" if content_id.startswith("v") else "article"
    props = {"content_type": kind, "content_id": content_id, "path": f"/{kind}/{content_id}"}
    return app(mid, "screen", ts, session, name=kind, properties=props)


def track(mid: str, ts: str, anon: str, name: str, **props: object) -> dict[str, object]:
    return event(mid, "track", ts, anon, event=name, properties=props)


# Weekdays: d(50) Sunday, d(45) Friday, d(40) Wednesday, d(30) Saturday, d(20) Tuesday,
# d(19) Wednesday, d(10) Friday, d(9) Saturday, d(5) Wednesday, d(-3) Thursday.
EVENTS = [
    # ana, on the web (desktop).
    page("e1", at(40, "10:00:00"), "ana", "a1"),  # session D: 60 s to the next event
    track("e1s", at(40, "10:01:00"), "ana", "Signed Up", method="email"),
    # Session A crosses midnight (gaps of 5 and 15 minutes): one session on two days.
    page("e2", at(20, "23:50:00"), "ana", "v1"),  # 300 s to e3
    page("e3", at(20, "23:55:00"), "ana", "v2"),  # 10 s from its heartbeat
    heartbeat("e4", at(20, "23:55:10"), "ana"),
    page("e5", at(19, "00:10:00"), "ana", "a1"),  # last of its session: time unknown
    # Session B: an order (20 EUR = 21.60 USD), a subscription started then cancelled.
    track("e6", at(5, "12:00:00"), "ana", "Order Completed", revenue=20, currency="EUR"),
    track("e7", at(5, "12:05:00"), "ana", "Subscription Started", plan="monthly"),
    track("e8", at(5, "12:10:00"), "ana", "Subscription Cancelled", plan="monthly"),
    page("e9", at(-3, "09:00:00"), "ana", "a2"),  # after the cutoff: ana comes back
    # ben, on the iPhone app (mobile). Client session ben-1 comes back after 35 days.
    screen("f1", at(45, "20:00:00"), "ben-1", "v1"),  # next event 35 days later: 1800 s
    screen("f1b", at(30, "09:00:00"), "ben-3", "a1"),  # alone in its session: unknown
    screen("f2", at(10, "20:00:00"), "ben-1", "v1"),  # 180 s
    screen("f3", at(10, "20:03:00"), "ben-1", "v2"),  # 420 s
    app("f4", "track", at(10, "20:10:00"), "ben-1", event="Video Content Completed"),
    app("f5", "track", at(10, "20:11:00"), "ben-1", event="Content Liked"),
    app("f6", "track", at(10, "20:12:00"), "ben-1", event="Products Searched"),
    app("f9", "track", at(10, "20:13:00"), "ben-1", event="Subscription Started"),
    app("f7", "track", at(9, "08:00:00"), "ben-2", event="Page Heartbeat"),  # not activity
    app("f8", "track", at(-2, "08:00:00"), "ben-4", event="Page Heartbeat"),  # nor this
    # cy: one article view, and heartbeats only in the last 28 days (not active then).
    page("g1", at(50, "18:00:00"), "cy", "a1"),
    heartbeat("g2", at(3, "18:00:00"), "cy"),
]


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """The events above, ingested and built into a warehouse of each engine."""
    root = tmp_path_factory.mktemp(f"ml-aggregates-{request.param}")
    if request.param == "duckdb":
        yield from _built(root, Settings(home=root / "home"))
        return
    with throwaway_database() as database:
        yield from _built(
            root, Settings(home=root / "home", warehouse="postgres", pg_database=database)
        )


def _built(root: Path, settings: Settings) -> Iterator[Settings]:
    with platform_environment(settings) as settings:
        source = write_ndjson(root / "events.ndjson", EVENTS)
        report = ingest_paths([source], settings.layout.ensure(), settings)
        assert (report.accepted, report.quarantined) == (len(EVENTS), 0)
        run_build(landed_days(settings.layout))
        yield settings


def _day(n: int) -> pd.Timestamp:
    return pd.Timestamp(d(n))


def test_churn_activity_and_features(warehouse: Settings) -> None:
    activity = inputs.churn_activity(warehouse)
    days = activity.days.assign(event_date=pd.to_datetime(activity.days["event_date"]))
    rows = days.set_index(["stitched_user_id", "event_date"])
    # ana's session A: started on d(20) (two video views; the heartbeat is no activity),
    # continued on d(19) (one article view), so it starts nothing there.
    assert rows.loc[("ana", _day(20)), ["active_events", "page_views", "views_video"]].tolist() == [
        2,
        2,
        2,
    ]
    assert rows.loc[("ana", _day(20)), "sessions_started"] == 1
    assert rows.loc[("ana", _day(19)), ["page_views", "sessions_started"]].tolist() == [1, 0]
    day5 = rows.loc[("ana", _day(5))]
    assert (day5["orders"], day5["order_revenue_usd"], day5["page_views"]) == (1, 21.6, 0)
    assert day5["subscription_state"] == 0  # started at 12:05, cancelled at 12:10
    assert rows.loc[("ben", _day(10)), "subscription_state"] == 1
    assert pd.isna(rows.loc[("ben", _day(45)), "subscription_state"])
    # Heartbeats only: a row (its session starts there) without activity.
    assert rows.loc[("ben", _day(9)), ["active_events", "sessions_started"]].tolist() == [0, 1]
    # ben-1's two stretches (35 days apart) each start a session; only A spans two days.
    assert rows.loc[("ben", _day(45)), "sessions_started"] == 1
    assert rows.loc[("ben", _day(10)), "sessions_started"] == 1
    long = activity.long_sessions
    assert len(long) == 1
    assert long.iloc[0]["stitched_user_id"] == "ana"
    assert pd.Timestamp(long.iloc[0]["first_day"]) == _day(20)
    assert pd.Timestamp(long.iloc[0]["last_day"]) == _day(19)
    assert long.iloc[0]["sessions"] == 1

    users, engagement = inputs.users(warehouse), inputs.engagement(warehouse)
    x = features_at(activity, users, engagement, C)
    assert list(x.index) == ["ana", "ben"]  # cy only sent heartbeats in the window
    ana, ben = x.loc["ana"], x.loc["ben"]
    # ana: active on d(20), d(19) (the previous 14 days) and d(5) (the last 14).
    assert (ana["recency_days"], ana["active_days_28"]) == (5, 3)
    assert (ana["active_days_last_14"], ana["active_days_prev_14"]) == (1, 2)
    assert ana["active_days_trend"] == -1
    assert ana["sessions_28"] == 2  # A (counted once across midnight) and B
    assert ana["page_views_28"] == 3
    assert (ana["share_video"], ana["share_article"]) == (
        pytest.approx(2 / 3),
        pytest.approx(1 / 3),
    )
    assert (ana["orders_28"], ana["order_revenue_usd_28"]) == (1, pytest.approx(21.6))
    assert (ana["subscribed"], ana["signed_up"], ana["tenure_days"]) == (0, 1, 40)
    assert (ana["device_desktop"], ana["device_mobile"]) == (1, 0)
    # ben: active on d(10) only (d(9) was heartbeats); sessions ben-1 (its second
    # stretch) and ben-2 (heartbeats are no activity, but their session counts).
    assert (ben["recency_days"], ben["active_days_28"], ben["active_days_trend"]) == (10, 1, 1)
    assert ben["sessions_28"] == 2
    assert (ben["page_views_28"], ben["share_video"]) == (2, 1)
    assert (ben["orders_28"], ben["subscribed"], ben["signed_up"]) == (0, 1, 0)
    assert (ben["tenure_days"], ben["device_mobile"]) == (45, 1)
    # Cutoff d(12), window d(39)..d(12): ben-1 has events on d(45) and d(10), none in it.
    earlier = features_at(activity, users, engagement, d(12))
    assert earlier["sessions_28"].to_dict() == {"ana": 1, "ben": 1}
    # ana comes back on d(-3); ben's later heartbeat is no activity.
    assert labels_at(activity, C).to_dict() == {"ana": 0, "ben": 1}


def test_behaviour_totals(warehouse: Settings) -> None:
    totals = inputs.user_behaviour(warehouse).set_index("stitched_user_id")
    expected = {
        # Active days d(40), d(20), d(19), d(5), d(-3); 9 active events (the heartbeat
        # is none): 5 page views (articles a1, a1, a2; videos v1, v2), the signup, the
        # order and two subscription events. No Saturday, no phone.
        "ana": dict(active_days=5, active_events=9, page_views=5, views_article=3,
                    views_video=2, purchases=1),
        # d(45), d(30) (a Saturday), d(10): 4 screens (videos v1, v1, v2; article a1),
        # a completion, a like, a search and a subscription start, all on the phone.
        "ben": dict(active_days=3, active_events=8, page_views=4, views_article=1,
                    views_video=3, video_completions=1, social_actions=1, searches=1,
                    saturday_events=1, mobile_events=8),
        "cy": dict(active_days=1, active_events=1, page_views=1, views_article=1),
    }  # fmt: skip
    assert sorted(totals.index) == sorted(expected)
    for user, counts in expected.items():
        assert totals.loc[user, list(BEHAVIOUR_COLUMNS)].to_dict() == {
            column: counts.get(column, 0) for column in BEHAVIOUR_COLUMNS
        }, user
    features = behaviour_features(totals.reset_index(), inputs.users(warehouse))
    ben = features.set_index("stitched_user_id").loc["ben"]
    # Smoothed shares, (hits + 5 * population share) / (total + 5): ben has 8 of the 9
    # phone events of 18 active events in all, 1 of 1 Saturday events.
    assert ben["mobile_share"] == pytest.approx((8 + 5 * 8 / 18) / (8 + 5))
    assert ben["saturday_share"] == pytest.approx((1 + 5 * 1 / 18) / (8 + 5))
    assert ben["video_share"] == pytest.approx((3 + 5 * 5 / 10) / (4 + 5))


# Collapsed views (consecutive repeats count once), by user:
#   ana a1, v1, v2, a1, a2 -> held out a2 after a1; trains on {a1, v1, v2}
#   ben v1, a1, v1, v2     -> held out v2 after v1; trains on {v1, a1} (v2 only last)
#   cy  a1                 -> not evaluated; trains on {a1}
# All views: viewers a1 3, v1 2, v2 2, a2 1; co-viewers a1-v1 2, a1-v2 2, v1-v2 2, and
# 1 for a2 with each. Training: viewers a1 3, v1 2, v2 1; a1-v1 2, a1-v2 1, v1-v2 1.
EXPECTED_RECS = {
    "a1": [("v1", 2 / 6**0.5, 2), ("v2", 2 / 6**0.5, 2), ("a2", 1 / 3**0.5, 1)],
    "a2": [("v1", 1 / 2**0.5, 1), ("v2", 1 / 2**0.5, 1), ("a1", 1 / 3**0.5, 1)],
    "v1": [("v2", 1.0, 2), ("a1", 2 / 6**0.5, 2), ("a2", 1 / 2**0.5, 1)],
    "v2": [("v1", 1.0, 2), ("a1", 2 / 6**0.5, 2), ("a2", 1 / 2**0.5, 1)],
}
# Training recommendations: a1 -> v1, v2; v1 -> a1 (2/sqrt 6), v2 (1/sqrt 2). ana's a2
# is not among a1's (a miss), ben's v2 is among v1's (a hit). Most viewed in training:
# a1, v1, v2; without the previous item: ana gets v1, v2 (miss), ben a1, v2 (hit).
EXPECTED_HIT_RATES = {"hit_rate": 0.5, "baseline_hit_rate": 0.5, "users_evaluated": 2.0}


def test_recommendations_from_co_viewing_counts(warehouse: Settings) -> None:
    co_viewing = inputs.co_viewing(warehouse)
    recs = similar_items(co_viewing)
    got = {
        item: [(r.recommended_content_id, r.score, r.co_viewers) for r in rows.itertuples()]
        for item, rows in recs.groupby("content_id")
    }
    assert got.keys() == EXPECTED_RECS.keys()
    for item, expected in EXPECTED_RECS.items():
        assert [(o, n) for o, _, n in got[item]] == [(o, n) for o, _, n in expected], item
        assert [s for _, s, _ in got[item]] == pytest.approx([s for _, s, _ in expected])
    cases = inputs.holdout_cases(warehouse)
    assert sorted(map(tuple, cases[["prev_id", "held_id", "users"]].to_numpy().tolist())) == [
        ("a1", "a2", 1),
        ("v1", "v2", 1),
    ]
    training = co_viewing.drop(columns="co_viewers").rename(
        columns={"training_co_viewers": "co_viewers"}
    )
    assert hit_rates(training, cases) == EXPECTED_HIT_RATES

    # The per-view computation on the views themselves agrees.
    views = read_frame(
        warehouse,
        """
        select stitched_user_id, content_id, event_time from fct_events
        where is_page_view and content_id is not null
        """,
    )
    pd.testing.assert_frame_equal(co_consumption(views), recs)
    assert evaluate_hit_rate(views) == EXPECTED_HIT_RATES


def test_content_views(warehouse: Settings) -> None:
    views = inputs.content_views(warehouse)
    items = views.items.set_index(["content_type", "content_id"]).sort_index()
    # Time on page (fct_page_views): e1 60 s, e2 300 s, e3 10 s (heartbeat), f1 1800 s
    # (capped), f2 180 s, f3 420 s; e5, e9, f1b and g1 unknown (last of their session).
    expected = pd.DataFrame(
        [
            ("article", "a1", 4, 1, 60.0, 1),  # e1, e5, f1b, g1
            ("article", "a2", 1, 0, 0.0, 0),  # e9
            ("video", "v1", 3, 3, 2280.0, 3),  # e2, f1, f2
            ("video", "v2", 2, 2, 430.0, 2),  # e3, f3
        ],
        columns=["content_type", "content_id", "views", "engaged_views", "time_on_page_sum",
                 "time_on_page_known"],
    ).set_index(["content_type", "content_id"])  # fmt: skip
    got = items[expected.columns].astype(float).fillna(0.0)
    pd.testing.assert_frame_equal(got, expected.astype(float))
    slots = views.slots.assign(event_date=pd.to_datetime(views.slots["event_date"]))
    assert slots["views"].sum() == 10
    video_hours = slots.loc[slots["content_type"] == "video"].groupby("event_hour")
    assert video_hours["engaged_views"].sum().to_dict() == {20: 3, 23: 2}
    # Best hour for videos by view time: 20h, 3 engaged views over the 54 days from the
    # first content view, d(50), to the last, d(-3).
    insights = content_insights(views, None)
    best = insights.loc[
        (insights["insight_type"] == "best_publish_hour") & (insights["content_type"] == "video")
    ].iloc[0]
    assert (best["value"], best["metric"]) == ("20", pytest.approx(3 / 54))


def test_daily_kpis_read_signups_and_revenue_from_the_business_inputs(warehouse: Settings):
    daily = inputs.daily_kpis(warehouse)
    assert daily["signups"].to_dict() == {
        day: (1.0 if day == _day(40) else 0.0) for day in daily.index
    }
    assert daily.loc[_day(5), "revenue_usd"] == pytest.approx(21.6)
    assert daily["revenue_usd"].sum() == pytest.approx(21.6)
    assert inputs.event_date_range(warehouse) == (d(50), d(-3))
