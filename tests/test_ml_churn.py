"""Churn scores on data whose answer is known (issue 7, item 2)."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from ml_assets.churn import (
    CHURN_WINDOW_DAYS,
    FEATURE_NAMES,
    MIN_TRAIN_ROWS,
    ChurnModel,
    NotEnoughData,
    choose_cutoffs,
    features_at,
    labels_at,
    score,
    train,
)

START = date(2026, 1, 1)
DAYS = 160
CONTENT = ("article", "video", "fighter", "fight_event")
IRREGULAR_SHARE = 0.5


def _event(user: str, day: date, name: str = "Page Viewed", **extra: object) -> dict:
    row = {
        "stitched_user_id": user,
        "event_time": pd.Timestamp(day) + pd.Timedelta(hours=12),
        "event_date": pd.Timestamp(day),
        "event_type": "page" if name == "Page Viewed" else "track",
        "event_name": name,
        "is_page_view": name == "Page Viewed",
        "is_active_event": name != "Page Heartbeat",
        "content_type": "article",
        "content_id": "a1",
        "device_type": "desktop",
        "revenue_usd": None,
        "session_id": f"{user}-{day}",
    }
    row.update(extra)
    return row


def _users(ids: list[str], first: dict[str, date] | None = None) -> pd.DataFrame:
    first = first or {}
    return pd.DataFrame(
        {
            "stitched_user_id": ids,
            "first_active_at": [pd.Timestamp(first.get(u, START)) for u in ids],
            "first_touch_channel": ["search"] * len(ids),
            "first_device_type": ["mobile"] * len(ids),
            "plan": ["free"] * len(ids),
            "signed_up_at": [pd.NaT] * len(ids),
        }
    )


Data = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]  # events, users, daily engagement


def _engagement(user: str, day: date, minutes: float, score: float) -> dict:
    return {
        "stitched_user_id": user,
        "event_date": pd.Timestamp(day),
        "engaged_minutes": minutes,
        "engagement_score": score,
    }


def daily_engagement(events: pd.DataFrame) -> pd.DataFrame:
    """Stands in for mart_user_engagement_daily: 2 engaged minutes per page view and a
    score of 3 per session (capped at 100), per user and active day."""
    active = events.loc[events["is_active_event"]]
    per_day = active.groupby(["stitched_user_id", "event_date"]).agg(
        page_views=("is_page_view", "sum"), sessions=("session_id", "nunique")
    )
    return pd.DataFrame(
        {
            "engaged_minutes": 2.0 * per_day["page_views"],
            "engagement_score": (3.0 * per_day["sessions"]).clip(upper=100.0),
        }
    ).reset_index()


def synthetic(seed: int = 7, n_users: int = 700) -> Data:
    """Users with a planted churn mechanism.

    Each user joins on a random day with a daily activity rate in [0.3, 0.7] and
    1 + Poisson(2.5) sessions per active day. Churners (60%) leave 21 days +
    Geometric(1/60) days after joining (a constant hazard, so the churn rate hardly
    drifts between cutoffs); over the 21 days before leaving their extra sessions fade
    linearly to none and their activity rate to a half. Half of the retained users are
    irregular: they go quiet for 8-25 days at random, so recency alone mistakes them for
    churners, while their sessions do not fade before a gap.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    users = []
    for k in range(n_users):
        user = f"u{k:04d}"
        join = int(rng.integers(0, DAYS - 40))
        rate = rng.uniform(0.3, 0.7)
        churn_day = join + 21 + int(rng.geometric(1 / 60)) if rng.random() < 0.6 else None
        irregular = churn_day is None and rng.random() < IRREGULAR_SHARE
        quiet_until = -1
        for d in range(join, DAYS):
            if churn_day is not None and d >= churn_day:
                break
            if irregular and d > quiet_until and rng.random() < 0.08:
                quiet_until = d + int(rng.integers(8, 26))
            if d <= quiet_until:
                continue
            fading = 1.0  # 1 until three weeks before leaving, then falls linearly to 0
            if churn_day is not None and churn_day - d <= 21:
                fading = (churn_day - d) / 21
            if rng.random() >= rate * (0.5 + 0.5 * fading):
                continue
            day = START + timedelta(days=d)
            for s in range(1 + int(rng.poisson(2.5 * fading))):
                kind = CONTENT[int(rng.integers(0, 4))]
                rows.append(_event(user, day, content_type=kind, session_id=f"{user}-{d}-{s}"))
        users.append(user)
    channels = np.array(["direct", "search", "social", "referral", "campaign"])
    devices = np.array(["desktop", "mobile", "tablet"])
    frame = _users(users)
    frame["first_touch_channel"] = channels[rng.integers(0, 5, len(users))]
    frame["first_device_type"] = devices[rng.integers(0, 3, len(users))]
    events = pd.DataFrame(rows)
    return events, frame, daily_engagement(events)


@pytest.fixture(scope="module", autouse=True)
def one_openmp_thread() -> Iterator[None]:
    """Gradient boosting on one OpenMP thread: the CI cores are shared, and OpenMP threads
    spinning against other processes made training several times slower."""
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def data() -> Data:
    return synthetic()


@pytest.fixture(scope="module")
def model(data: Data) -> ChurnModel:
    cutoffs, holdout = choose_cutoffs(START, START + timedelta(days=DAYS - 1))
    return train(*data, holdout_cutoff=holdout, train_cutoffs=cutoffs)


def test_labels_by_hand() -> None:
    c = date(2026, 3, 1)
    events = pd.DataFrame(
        [
            _event("returns", c - timedelta(days=5)),
            _event("returns", c + timedelta(days=30)),  # last day of the churn window
            _event("leaves", c - timedelta(days=27)),  # first day of the active window
            _event("leaves", c + timedelta(days=31)),  # too late to count as a return
            _event("heartbeat", c),
            _event("heartbeat", c + timedelta(days=3), "Page Heartbeat"),  # not activity
            _event("inactive", c - timedelta(days=28)),  # outside the active window
            _event("inactive", c + timedelta(days=1)),
        ]
    )
    labels = labels_at(events, c)
    assert labels.to_dict() == {"heartbeat": 1, "leaves": 1, "returns": 0}


def test_features_by_hand() -> None:
    c = date(2026, 3, 1)
    d = lambda n: c - timedelta(days=n)  # noqa: E731
    events = pd.DataFrame(
        [
            *[_event("a", d(n)) for n in (27, 26, 25, 20, 15)],  # 5 days in the previous 14
            _event("a", d(3), content_type="video", session_id="a-x"),
            _event("a", d(3), content_type="video", session_id="a-y"),
            _event("a", d(3), "Subscription Started"),
            _event("a", d(2), "Order Completed", revenue_usd=12.5),
            _event("b", d(40)),
            _event("b", d(10), "Subscription Started"),
            _event("b", d(5), "Subscription Cancelled"),
        ]
    )
    users = _users(["a", "b"], {"a": d(27), "b": d(40)})
    engagement = pd.DataFrame(
        [
            _engagement("a", d(28), 100.0, 90.0),  # before the 28-day window
            _engagement("a", d(27), 4.0, 10.0),  # previous 14 days
            _engagement("a", d(20), 6.0, 20.0),
            _engagement("a", d(3), 10.0, 30.0),  # last 14 days
            _engagement("a", d(2), 0.0, 6.0),
            _engagement("a", c + timedelta(days=1), 50.0, 99.0),  # after the cutoff
            _engagement("b", d(40), 9.0, 50.0),
            _engagement("b", d(13), 1.0, 7.0),  # first day of the last 14
        ]
    )
    x = features_at(events, users, engagement, c)
    assert list(x.columns) == list(FEATURE_NAMES)
    a, b = x.loc["a"], x.loc["b"]
    assert a["recency_days"] == 2
    assert a["active_days_28"] == 7
    assert (a["active_days_prev_14"], a["active_days_last_14"], a["active_days_trend"]) == (
        5,
        2,
        -3,
    )
    assert a["page_views_28"] == 7
    assert a["share_video"] == pytest.approx(2 / 7)
    assert a["share_article"] == pytest.approx(5 / 7)
    assert (a["orders_28"], a["order_revenue_usd_28"]) == (1, 12.5)
    assert (a["subscribed"], b["subscribed"]) == (1, 0)
    assert (a["tenure_days"], b["tenure_days"]) == (27, 40)
    assert (a["device_mobile"], a["channel_search"], a["channel_other"]) == (1, 1, 0)
    assert b["recency_days"] == 5
    assert a["engaged_minutes_28"] == 20
    assert a["engagement_score_28"] == pytest.approx(66 / 28)
    assert a["engagement_score_trend"] == pytest.approx((36 - 30) / 14)
    assert (b["engaged_minutes_28"], b["engagement_score_28"]) == (1, pytest.approx(7 / 28))
    assert b["engagement_score_trend"] == pytest.approx(7 / 14)


def test_features_ignore_events_after_the_cutoff(data: Data) -> None:
    events, users, engagement = data
    cutoff = date(2026, 3, 15)
    before = features_at(events, users, engagement, cutoff)
    after_mask = events["event_date"] > pd.Timestamp(cutoff)
    assert after_mask.any() and not before.empty
    changed = events.copy()
    rng = np.random.default_rng(1)
    # Mutate later events: other names, content, sessions, revenue; delete some; add new.
    later = changed.index[after_mask.to_numpy()]
    changed.loc[later, "event_name"] = "Subscription Cancelled"
    changed.loc[later, "content_type"] = "video"
    changed.loc[later, "session_id"] = changed.loc[later, "session_id"].str.upper()
    changed.loc[later, "revenue_usd"] = 99.0
    changed = changed.drop(rng.choice(later, size=len(later) // 2, replace=False))
    added = pd.DataFrame(
        [
            _event(user, cutoff + timedelta(days=1), "Order Completed", revenue_usd=5.0)
            for user in before.index[:50]
        ]
        + [_event("newcomer", cutoff + timedelta(days=2))]
    )
    changed = pd.concat([changed, added], ignore_index=True)
    # Later engagement: scores and minutes changed, a new row for a known user.
    later_engagement = engagement["event_date"] > pd.Timestamp(cutoff)
    assert later_engagement.any()
    engagement = engagement.copy()
    engagement.loc[later_engagement, ["engaged_minutes", "engagement_score"]] = 100.0
    engagement = pd.concat(
        [engagement, pd.DataFrame([_engagement(before.index[0], cutoff + timedelta(days=1), 1, 1)])]
    )
    pd.testing.assert_frame_equal(features_at(changed, users, engagement, cutoff), before)


def test_choose_cutoffs() -> None:
    first, last = date(2026, 1, 1), date(2026, 6, 30)
    cutoffs, holdout = choose_cutoffs(first, last)
    assert holdout == last - timedelta(days=CHURN_WINDOW_DAYS)
    assert cutoffs == sorted(cutoffs) and len(cutoffs) > 5
    assert cutoffs[-1] == holdout - timedelta(days=CHURN_WINDOW_DAYS)
    assert all(b - a == timedelta(days=7) for a, b in pairwise(cutoffs))
    assert cutoffs[0] >= first + timedelta(days=27) > cutoffs[0] - timedelta(days=7)
    assert choose_cutoffs(first, first + timedelta(days=60))[0] == []


def test_train_rejects_overlapping_cutoffs(data: Data) -> None:
    holdout = date(2026, 5, 1)
    with pytest.raises(ValueError, match="label windows"):
        train(*data, holdout_cutoff=holdout, train_cutoffs=[holdout - timedelta(days=7)])


def test_not_enough_data() -> None:
    cutoffs, holdout = choose_cutoffs(START, START + timedelta(days=DAYS - 1))
    with pytest.raises(NotEnoughData, match=str(MIN_TRAIN_ROWS)):
        train(*synthetic(n_users=12), holdout_cutoff=holdout, train_cutoffs=cutoffs)


def test_model_beats_recency_baseline_on_the_holdout(model: ChurnModel) -> None:
    m = model.metrics
    print(  # shown with -s: the figures of the report
        {k: round(v, 3) if isinstance(v, float) else v for k, v in m.items() if k != "calibration"}
    )
    assert m["holdout_rows"] >= MIN_TRAIN_ROWS and m["train_rows"] > m["holdout_rows"]
    assert 0.1 < m["churn_rate"] < 0.6
    assert m["roc_auc"] >= 0.75
    assert m["roc_auc"] >= m["baseline_roc_auc"] + 0.05
    assert m["pr_auc"] > m["baseline_pr_auc"]
    assert m["brier"] < m["baseline_brier"]
    table = m["calibration"]
    assert len(table) == 10 and sum(row["count"] for row in table) == m["holdout_rows"]
    # Calibrated: the count-weighted gap between predicted and observed is small.
    gap = (
        sum(
            row["count"] * abs(row["mean_predicted"] - row["observed"])
            for row in table
            if row["count"]
        )
        / m["holdout_rows"]
    )
    assert gap < 0.1
    assert model.train_cutoffs[-1] + timedelta(days=CHURN_WINDOW_DAYS) <= model.holdout_cutoff
    # The planted mechanism (falling activity) is what the model relies on most.
    top = sorted(model.importance, key=model.importance.get, reverse=True)[:4]
    assert {"active_days_trend", "active_days_last_14", "recency_days"} & set(top)


def test_training_is_deterministic(data: Data, model: ChurnModel) -> None:
    again = train(*data, holdout_cutoff=model.holdout_cutoff, train_cutoffs=model.train_cutoffs)
    assert again.version == model.version
    assert again.metrics == model.metrics


def test_score(data: Data, model: ChurnModel) -> None:
    as_of = START + timedelta(days=DAYS - 1)
    stamp = datetime(2026, 6, 10, tzinfo=UTC)
    scores = score(model, *data, as_of=as_of, scored_at=stamp)
    expected_users = features_at(*data, as_of).index
    assert sorted(scores["stitched_user_id"]) == sorted(expected_users)
    assert scores["probability"].between(0, 1).all()
    assert scores["probability"].is_monotonic_decreasing
    bands = np.select(
        [scores["probability"] >= 0.6, scores["probability"] >= 0.3], ["high", "medium"], "low"
    )
    assert (scores["risk_band"] == bands).all()
    assert set(scores["risk_band"]) >= {"high", "low"}
    assert (scores["model_version"] == model.version).all()
    for drivers in scores["drivers"]:
        assert len(drivers) == 3 and len(set(drivers)) == 3
        assert all(isinstance(d, str) and d and "nan" not in d for d in drivers)
    phrases = [d for row in scores["drivers"] for d in row]
    assert any(p.startswith("no activity for ") for p in phrases)
    assert any(p.startswith("active days fell from ") for p in phrases)
    print(scores.head(3).to_dict("records"))
    again = score(model, *data, as_of=as_of, scored_at=stamp)
    pd.testing.assert_frame_equal(scores, again)
