"""Churn scores on data whose answer is known (issue 7, item 2)."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from ml_assets.churn import MIN_TRAIN_ROWS, ChurnModel, choose_cutoffs, score, train
from ml_assets.churn_features import (
    CHURN_WINDOW_DAYS,
    ENGAGEMENT_COLUMNS,
    FEATURE_NAMES,
    LONG_SESSION_COLUMNS,
    USER_DAY_COLUMNS,
    Activity,
    features_at,
    labels_at,
)
from ml_assets.errors import NotEnoughData

START = date(2026, 1, 1)
DAYS = 160
CONTENT = ("article", "video", "fighter", "fight_event")
IRREGULAR_SHARE = 0.5


def _day_row(user: str, day: date, **counts: float) -> dict:
    """One row of Activity.days: a user's aggregates on one day (every count 0 unless
    given, no subscription event)."""
    row: dict = {column: 0 for column in USER_DAY_COLUMNS}
    row.update(stitched_user_id=user, event_date=pd.Timestamp(day), subscription_state=None)
    return row | counts


def _views(user: str, day: date, kind: str = "article", n: int = 1, **counts: float) -> dict:
    """A day with n page views of one content type, each in a session of its own;
    `other_events` more active events, and `counts` overriding any column."""
    other = counts.pop("other_events", 0)
    views = {"active_events": n + other, "page_views": n, f"views_{kind}": n, "sessions_started": n}
    return _day_row(user, day, **(views | counts))


def _activity(days: list[dict], long_sessions: list[tuple] = ()) -> Activity:
    return Activity(
        days=pd.DataFrame(days, columns=list(USER_DAY_COLUMNS)),
        long_sessions=pd.DataFrame(list(long_sessions), columns=list(LONG_SESSION_COLUMNS)),
    )


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


Data = tuple[Activity, pd.DataFrame, pd.DataFrame]  # activity, users, daily engagement


def _engagement(user: str, day: date, minutes: float, score: float) -> dict:
    return {
        "stitched_user_id": user,
        "event_date": pd.Timestamp(day),
        "engaged_minutes": minutes,
        "engagement_score": score,
    }


def daily_engagement(days: pd.DataFrame) -> pd.DataFrame:
    """Stands in for mart_user_engagement_daily: 2 engaged minutes per page view and a
    score of 3 per session (capped at 100), per user and active day."""
    active = days.loc[days["active_events"] > 0]
    return pd.DataFrame(
        {
            "stitched_user_id": active["stitched_user_id"],
            "event_date": active["event_date"],
            "engaged_minutes": 2.0 * active["page_views"],
            "engagement_score": (3.0 * active["sessions_started"]).clip(upper=100.0),
        }
    ).reset_index(drop=True)


def synthetic(seed: int = 7, n_users: int = 700) -> Data:
    """Users with a planted churn mechanism.

    Each user joins on a random day with a daily activity rate in [0.3, 0.7] and
    1 + Poisson(2.5) sessions per active day. Churners (60%) leave 21 days +
    Geometric(1/60) days after joining (a constant hazard, so the churn rate hardly
    drifts between cutoffs); over the 21 days before leaving their extra sessions fade
    linearly to none and their activity rate to a half. Half of the retained users are
    irregular: they go quiet for 8-25 days at random, so recency alone mistakes them for
    churners, while their sessions do not fade before a gap. Each session is one page
    view of a random content type, so a day's aggregate row counts its sessions.
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
            sessions = 1 + int(rng.poisson(2.5 * fading))
            kinds = [CONTENT[int(rng.integers(0, 4))] for _ in range(sessions)]
            day = _day_row(
                user,
                START + timedelta(days=d),
                active_events=sessions,
                page_views=sessions,
                sessions_started=sessions,
            )
            for kind in kinds:
                day[f"views_{kind}"] += 1
            rows.append(day)
        users.append(user)
    channels = np.array(["direct", "search", "social", "referral", "campaign"])
    devices = np.array(["desktop", "mobile", "tablet"])
    frame = _users(users)
    frame["first_touch_channel"] = channels[rng.integers(0, 5, len(users))]
    frame["first_device_type"] = devices[rng.integers(0, 3, len(users))]
    days = pd.DataFrame(rows, columns=list(USER_DAY_COLUMNS))
    return _activity(rows), frame, daily_engagement(days)


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
    activity = _activity(
        [
            _views("returns", c - timedelta(days=5)),
            _views("returns", c + timedelta(days=30)),  # last day of the churn window
            _views("leaves", c - timedelta(days=27)),  # first day of the active window
            _views("leaves", c + timedelta(days=31)),  # too late to count as a return
            _views("heartbeat", c),
            # A day of heartbeats only: not activity.
            _day_row("heartbeat", c + timedelta(days=3), sessions_started=1),
            _views("inactive", c - timedelta(days=28)),  # outside the active window
            _views("inactive", c + timedelta(days=1)),
        ]
    )
    labels = labels_at(activity, c)
    assert labels.to_dict() == {"heartbeat": 1, "leaves": 1, "returns": 0}


def test_features_by_hand() -> None:
    c = date(2026, 3, 1)
    d = lambda n: c - timedelta(days=n)  # noqa: E731
    activity = _activity(
        [
            # One article view a day (a session each), 5 days in the previous 14.
            *[_views("a", d(n)) for n in (27, 26, 25, 20, 15)],
            # Two video views in two sessions and a subscription start in a third.
            _views("a", d(3), "video", 2, other_events=1, sessions_started=3, subscription_state=1),
            _day_row(
                "a", d(2), active_events=1, orders=1, order_revenue_usd=12.5, sessions_started=1
            ),
            _views("b", d(40)),
            _day_row("b", d(10), active_events=1, sessions_started=1, subscription_state=1),
            _day_row("b", d(5), active_events=1, sessions_started=1, subscription_state=0),
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
    x = features_at(activity, users, engagement, c)
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
    # a: 5 one-session days, 3 sessions on d(3), 1 on d(2); b: d(10) and d(5).
    assert (a["sessions_28"], b["sessions_28"]) == (9, 2)
    assert a["engaged_minutes_28"] == 20
    assert a["engagement_score_28"] == pytest.approx(66 / 28)
    assert a["engagement_score_trend"] == pytest.approx((36 - 30) / 14)
    assert (b["engaged_minutes_28"], b["engagement_score_28"]) == (1, pytest.approx(7 / 28))
    assert b["engagement_score_trend"] == pytest.approx(7 / 14)


def test_sessions_spanning_days_count_once_in_the_window() -> None:
    """A session is counted in the 28 days when any of its days falls in them, once,
    whichever day it started (Activity: stretches of a session's days)."""
    c = date(2026, 3, 1)
    d = lambda n: c - timedelta(days=n)  # noqa: E731
    activity = _activity(
        [
            # Each user is active on d(1) (one page view, no session of its own).
            *[_day_row(user, d(1), active_events=1, page_views=1) for user in "pqrst"],
            _day_row("p", d(30), sessions_started=1),  # p: from d(30) to d(20): counts
            _day_row("q", d(40), sessions_started=1),  # q: from d(40) to d(28): does not
            _day_row("r", d(27), sessions_started=1),  # r: starts in the window: counts once
            _day_row("s", d(35), sessions_started=2),  # s: two sessions reaching c + 2
            _day_row("t", d(1), sessions_started=1),  # t: starts in it, ends after c
        ],
        [
            ("p", pd.Timestamp(d(30)), pd.Timestamp(d(20)), 1),
            ("q", pd.Timestamp(d(40)), pd.Timestamp(d(28)), 1),
            ("r", pd.Timestamp(d(27)), pd.Timestamp(d(3)), 1),
            ("s", pd.Timestamp(d(35)), pd.Timestamp(c + timedelta(days=2)), 2),
            ("t", pd.Timestamp(d(1)), pd.Timestamp(c + timedelta(days=5)), 1),
        ],
    )
    no_engagement = pd.DataFrame(columns=list(ENGAGEMENT_COLUMNS))
    x = features_at(activity, _users(list("pqrst")), no_engagement, c)
    assert x["sessions_28"].to_dict() == {"p": 1, "q": 0, "r": 1, "s": 2, "t": 1}


def test_features_ignore_events_after_the_cutoff(data: Data) -> None:
    activity, users, engagement = data
    cutoff = date(2026, 3, 15)
    before = features_at(activity, users, engagement, cutoff)
    days = activity.days
    after_mask = days["event_date"] > pd.Timestamp(cutoff)
    assert after_mask.any() and not before.empty
    changed = days.copy()
    rng = np.random.default_rng(1)
    # Mutate later days: other content, sessions, orders, revenue, subscriptions; delete
    # some; add new ones, and sessions stretching from after the cutoff.
    later = changed.index[after_mask.to_numpy()]
    changed.loc[later, "views_video"] = changed.loc[later, "page_views"]
    changed.loc[later, "views_article"] = 0
    changed.loc[later, "sessions_started"] *= 2
    changed.loc[later, ["orders", "order_revenue_usd", "subscription_state"]] = (3, 99.0, 0)
    changed = changed.drop(rng.choice(later, size=len(later) // 2, replace=False))
    added = pd.DataFrame(
        [
            _day_row(
                user,
                cutoff + timedelta(days=1),
                active_events=1,
                orders=1,
                order_revenue_usd=5.0,
                subscription_state=1,
            )
            for user in before.index[:50]
        ]
        + [_views("newcomer", cutoff + timedelta(days=2))]
    )
    changed = pd.concat([changed, added], ignore_index=True)
    long_sessions = pd.DataFrame(
        [
            (user, pd.Timestamp(cutoff + timedelta(days=1)), pd.Timestamp(cutoff + timedelta(3)), 1)
            for user in before.index[:50]
        ],
        columns=list(LONG_SESSION_COLUMNS),
    )
    # Later engagement: scores and minutes changed, a new row for a known user.
    later_engagement = engagement["event_date"] > pd.Timestamp(cutoff)
    assert later_engagement.any()
    engagement = engagement.copy()
    engagement.loc[later_engagement, ["engaged_minutes", "engagement_score"]] = 100.0
    engagement = pd.concat(
        [engagement, pd.DataFrame([_engagement(before.index[0], cutoff + timedelta(days=1), 1, 1)])]
    )
    after = features_at(Activity(changed, long_sessions), users, engagement, cutoff)
    pd.testing.assert_frame_equal(after, before)


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
