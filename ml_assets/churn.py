"""Churn scores for active users (issue 7, item 2): pure functions over pandas frames.

Definitions
-----------
- **Active** on a day: at least one event with ``is_active_event`` (docs/metrics.md: any event
  other than ``Page Heartbeat``).
- **Population at a cutoff c**: users active in ``[c - 27, c]`` (``ACTIVE_WINDOW_DAYS``).
- **Label** (``churned = 1``): a user of that population with no active event in
  ``(c, c + 30]`` (``CHURN_WINDOW_DAYS``).
- **Features** use only events with ``event_date <= c`` and user attributes known by c
  (``first_active_at`` / ``signed_up_at`` at or before c). ``plan`` is a current snapshot
  and therefore not used (it would leak the future).
- **Inputs** are aggregates of the events (``Activity``: per user and day, and sessions
  spanning days), never the events: the features are day-level counts, so a day's
  aggregate gives the same values as its events did.
- **Time split**: the model trains on earlier cutoffs whose label window ends on or before
  the holdout cutoff and is validated on the holdout cutoff only; never a random split.

No I/O here: the caller reads the marts and stores the outputs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from ml_assets.errors import NotEnoughData

CHURN_WINDOW_DAYS = 30
ACTIVE_WINDOW_DAYS = 28
TREND_WINDOW_DAYS = 14
CUTOFF_STEP_DAYS = 7
MIN_TRAIN_ROWS = 100
SEED = 0
HIGH_RISK = 0.6
MEDIUM_RISK = 0.3
CALIBRATION_BINS = 10
IMPORTANCE_SAMPLE_ROWS = 5_000

# Fixed vocabularies keep the feature list identical across cutoffs and data sets;
# unknown values fall into ``other``.
CONTENT_TYPES = ("article", "video", "fighter", "fight_event")
DEVICE_TYPES = ("desktop", "mobile", "tablet", "other")
CHANNELS = ("direct", "search", "social", "referral", "campaign", "other")

FEATURE_NAMES: tuple[str, ...] = (
    "recency_days",
    "active_days_28",
    "active_days_last_14",
    "active_days_prev_14",
    "active_days_trend",
    "sessions_28",
    "page_views_28",
    "engaged_minutes_28",
    "engagement_score_28",
    "engagement_score_trend",
    *(f"share_{t}" for t in CONTENT_TYPES),
    "orders_28",
    "order_revenue_usd_28",
    "subscribed",
    "signed_up",
    "tenure_days",
    *(f"device_{d}" for d in DEVICE_TYPES),
    *(f"channel_{c}" for c in CHANNELS),
)

_DAY = pd.Timedelta(days=1)
_USER = "stitched_user_id"
# Activity.days: one row per user and UTC day with any event (see Activity).
USER_DAY_COLUMNS = (
    _USER,
    "event_date",
    "active_events",
    "page_views",
    *(f"views_{t}" for t in CONTENT_TYPES),
    "orders",
    "order_revenue_usd",
    "sessions_started",
    "subscription_state",
)
# Activity.long_sessions: session stretches spanning more than one day, counted.
LONG_SESSION_COLUMNS = (_USER, "first_day", "last_day", "sessions")
# mart_user_engagement_daily: one row per user and active day (docs/metrics.md engagement score).
ENGAGEMENT_COLUMNS = (_USER, "event_date", "engaged_minutes", "engagement_score")


@dataclass(frozen=True)
class Activity:
    """What the churn model reads of the events: aggregates the warehouse computes
    (``ml_assets.inputs.churn_activity``), never the events themselves.

    ``days`` (``USER_DAY_COLUMNS``), one row per user and UTC day with any event:
    ``active_events`` (events other than ``Page Heartbeat``; a day without one is not
    active), ``page_views`` and ``views_<content type>``, ``orders`` and
    ``order_revenue_usd`` (``Order Completed`` events and their USD revenue, missing =
    0), ``sessions_started`` (below) and ``subscription_state`` (the day's last
    subscription event: 1 a start, 0 a cancellation, NaN none; a start and a
    cancellation at the same instant count as a cancellation).

    Sessions are counted by *stretch*: a session's event days, split where more than
    ``ACTIVE_WINDOW_DAYS`` days pass between two of them. A window of
    ``ACTIVE_WINDOW_DAYS`` days holds an event of a session exactly when it overlaps one
    of the session's stretches (no stretch has a gap the window fits in), and overlaps
    at most one (stretches are further apart than the window is long); so the distinct
    sessions in the window are the stretches overlapping it: those starting in it
    (``days.sessions_started``, on each stretch's first day) plus those started before
    it and reaching into it, which span days: ``long_sessions``
    (``LONG_SESSION_COLUMNS``: ``first_day``, ``last_day``, ``sessions``), the stretches
    longer than a day.
    """

    days: pd.DataFrame
    long_sessions: pd.DataFrame


@dataclass
class ChurnModel:
    """A fitted churn model with everything needed to score and explain it.

    ``importance`` is the permutation importance (ROC AUC drop on the holdout, clipped at
    0); ``reference`` holds each feature's training mean and standard deviation and
    ``direction`` +1 when higher values go with churn in training, -1 otherwise. These
    three explain individual scores (see ``score``).
    """

    model: CalibratedClassifierCV
    feature_names: list[str]
    train_cutoffs: list[date]
    holdout_cutoff: date
    metrics: dict[str, Any]
    version: str
    importance: dict[str, float] = field(default_factory=dict)
    reference: dict[str, tuple[float, float]] = field(default_factory=dict)
    direction: dict[str, int] = field(default_factory=dict)
    base_rate: float = 0.0


def _day(value: date | datetime | pd.Timestamp) -> pd.Timestamp:
    """A calendar day as a naive (UTC) midnight Timestamp."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()


def _naive_utc(values: pd.Series) -> pd.Series:
    """Timestamps (naive taken as UTC, aware converted) as naive UTC datetime64."""
    return pd.to_datetime(values, utc=True).dt.tz_localize(None)


def _prepare(activity: Activity) -> Activity:
    """The columns used, typed: days as naive UTC midnights, counts and money floats
    (missing = 0), ``subscription_state`` a float (NaN: no subscription event)."""
    days = activity.days.loc[:, list(USER_DAY_COLUMNS)].copy()
    days["event_date"] = _naive_utc(days["event_date"]).dt.normalize()
    for column in USER_DAY_COLUMNS[2:-1]:
        days[column] = pd.to_numeric(days[column], errors="coerce").fillna(0.0)
    days["subscription_state"] = pd.to_numeric(days["subscription_state"], errors="coerce")
    long_sessions = activity.long_sessions.loc[:, list(LONG_SESSION_COLUMNS)].copy()
    for column in ("first_day", "last_day"):
        long_sessions[column] = _naive_utc(long_sessions[column]).dt.normalize()
    long_sessions["sessions"] = pd.to_numeric(long_sessions["sessions"]).astype(float)
    return Activity(days=days, long_sessions=long_sessions)


def _active_days(active: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Distinct active days per user in the closed range ``[start, end]`` (``active``:
    rows of ``Activity.days`` with an active event)."""
    rows = active.loc[(active["event_date"] >= start) & (active["event_date"] <= end)]
    return rows.groupby(_USER)["event_date"].nunique()


def _one_hot(values: pd.Series, vocabulary: tuple[str, ...], prefix: str) -> pd.DataFrame:
    """One column per vocabulary value; values outside it (or missing) count as ``other``."""
    cleaned = values.fillna("other").astype(str).str.lower()
    cleaned = cleaned.where(cleaned.isin(vocabulary), "other")
    return pd.DataFrame(
        {f"{prefix}_{v}": (cleaned == v).astype(float) for v in vocabulary}, index=values.index
    )


def _subscribed(past: pd.DataFrame) -> pd.Series:
    """1 when the user's latest subscription event is a start (not followed by a cancel):
    the state of the user's last day with one (days are unique per user)."""
    days = past.loc[past["subscription_state"].notna()].sort_values("event_date", kind="stable")
    return (days.groupby(_USER)["subscription_state"].last() == 1).astype(float)


def features_at(
    activity: Activity, users: pd.DataFrame, engagement: pd.DataFrame, cutoff: date
) -> pd.DataFrame:
    """Features of users active in ``[cutoff - 27, cutoff]``, from data up to the cutoff.

    Windows: ``*_28`` = ``[c - 27, c]``; ``last_14`` = ``[c - 13, c]``; ``prev_14`` =
    ``[c - 27, c - 14]``; trend = last_14 - prev_14. ``recency_days`` = days since the last
    active day; ``share_<type>`` the share of page views per content type; purchases are
    ``Order Completed`` events (count, USD revenue); ``tenure_days`` counts from the first
    activity known by the cutoff. From ``engagement`` (``ENGAGEMENT_COLUMNS``, the daily
    engagement mart): ``engaged_minutes_28`` the sum, ``engagement_score_28`` the mean
    daily score over the 28 days (a day without activity scores 0) and
    ``engagement_score_trend`` the mean over the last 14 days minus the 14 before.
    ``sessions_28`` counts distinct sessions with an event in the 28 days (see
    ``Activity``). Only days up to the cutoff are read (and session stretches only for
    whether they reach it), so later data cannot change any value.
    Index ``stitched_user_id`` (sorted), columns ``FEATURE_NAMES``.
    """
    return _features(_prepare(activity), users, _prepare_engagement(engagement), _day(cutoff))


def _prepare_engagement(engagement: pd.DataFrame) -> pd.DataFrame:
    out = engagement.loc[:, list(ENGAGEMENT_COLUMNS)].copy()
    out["event_date"] = _naive_utc(out["event_date"]).dt.normalize()
    for column in ("engaged_minutes", "engagement_score"):
        out[column] = pd.to_numeric(out[column], errors="coerce").fillna(0.0)
    return out


def _engagement_features(engagement: pd.DataFrame, c: pd.Timestamp) -> pd.DataFrame:
    """``engaged_minutes_28``, ``engagement_score_28``, ``engagement_score_trend`` per user
    from the prepared daily engagement rows (see ``features_at``)."""
    start = c - (ACTIVE_WINDOW_DAYS - 1) * _DAY
    last_start = c - (TREND_WINDOW_DAYS - 1) * _DAY
    rows = engagement.loc[(engagement["event_date"] >= start) & (engagement["event_date"] <= c)]
    recent = rows["event_date"] >= last_start
    by_user = rows.groupby(_USER)
    last = rows.loc[recent].groupby(_USER)["engagement_score"].sum() / TREND_WINDOW_DAYS
    prev = rows.loc[~recent].groupby(_USER)["engagement_score"].sum() / TREND_WINDOW_DAYS
    out = pd.DataFrame(
        {
            "engaged_minutes_28": by_user["engaged_minutes"].sum(),
            "engagement_score_28": by_user["engagement_score"].sum() / ACTIVE_WINDOW_DAYS,
        }
    )
    out["engagement_score_trend"] = last.reindex(out.index, fill_value=0.0) - prev.reindex(
        out.index, fill_value=0.0
    )
    return out


def _sessions_28(activity: Activity, window: pd.DataFrame, start: pd.Timestamp) -> pd.Series:
    """Distinct sessions per user with an event in the window ``[start, c]`` (``window``:
    the users' days in it): stretches starting in it plus those reaching into it."""
    long = activity.long_sessions
    reaching = long.loc[(long["first_day"] < start) & (long["last_day"] >= start)]
    started = window.groupby(_USER)["sessions_started"].sum()
    carried = reaching.groupby(_USER)["sessions"].sum().reindex(started.index, fill_value=0.0)
    return started + carried


def _features(
    prepared: Activity, users: pd.DataFrame, engagement: pd.DataFrame, c: pd.Timestamp
) -> pd.DataFrame:
    """``features_at`` over frames already passed through ``_prepare*``."""
    days = prepared.days
    past = days.loc[days["event_date"] <= c]
    start = c - (ACTIVE_WINDOW_DAYS - 1) * _DAY
    active = past.loc[past["active_events"] > 0]
    ids = pd.Index(sorted(active.loc[active["event_date"] >= start, _USER].unique()), name=_USER)
    out = pd.DataFrame(index=ids)
    if ids.empty:
        return pd.DataFrame(columns=list(FEATURE_NAMES), index=ids, dtype=float)
    past = past.loc[past[_USER].isin(ids)]
    active = active.loc[active[_USER].isin(ids)]
    window = past.loc[past["event_date"] >= start]

    out["recency_days"] = (c - active.groupby(_USER)["event_date"].max()).dt.days
    out["active_days_28"] = _active_days(active, start, c)
    last_start = c - (TREND_WINDOW_DAYS - 1) * _DAY
    out["active_days_last_14"] = _active_days(active, last_start, c)
    out["active_days_prev_14"] = _active_days(active, start, last_start - _DAY)
    out = out.fillna(0.0)
    out["active_days_trend"] = out["active_days_last_14"] - out["active_days_prev_14"]
    out["sessions_28"] = _sessions_28(prepared, window, start)
    totals = window.groupby(_USER)[
        ["page_views", *(f"views_{t}" for t in CONTENT_TYPES), "orders", "order_revenue_usd"]
    ].sum()
    out["page_views_28"] = totals["page_views"]
    out = out.join(_engagement_features(engagement, c))
    total = out["page_views_28"].fillna(0.0).replace(0.0, np.nan)
    for content_type in CONTENT_TYPES:
        out[f"share_{content_type}"] = totals[f"views_{content_type}"] / total
    out["orders_28"] = totals["orders"]
    out["order_revenue_usd_28"] = totals["order_revenue_usd"]
    out["subscribed"] = _subscribed(past)

    profile = users.drop_duplicates(_USER).set_index(_USER).reindex(ids)
    known_first = _naive_utc(profile["first_active_at"]).dt.normalize()
    known_first = known_first.where(known_first <= c)
    first_seen = pd.concat([active.groupby(_USER)["event_date"].min(), known_first], axis=1).min(
        axis=1
    )
    out["tenure_days"] = (c - first_seen).dt.days
    signed = _naive_utc(profile["signed_up_at"])
    out["signed_up"] = (signed < c + _DAY).astype(float)
    out = out.join(_one_hot(profile["first_device_type"], DEVICE_TYPES, "device"))
    out = out.join(_one_hot(profile["first_touch_channel"], CHANNELS, "channel"))
    return out.reindex(columns=list(FEATURE_NAMES)).fillna(0.0).astype(float)


def labels_at(activity: Activity, cutoff: date) -> pd.Series:
    """``churned`` (1/0) per user active in ``[c - 27, c]``: 1 = no active event in
    ``(c, c + 30]``. Index ``stitched_user_id`` (sorted)."""
    return _labels(_prepare(activity), _day(cutoff))


def _labels(prepared: Activity, c: pd.Timestamp) -> pd.Series:
    """``labels_at`` over activity already passed through ``_prepare``."""
    days = prepared.days
    active = days.loc[days["active_events"] > 0]
    dates = active["event_date"]
    start = c - (ACTIVE_WINDOW_DAYS - 1) * _DAY
    population = sorted(active.loc[(dates >= start) & (dates <= c), _USER].unique())
    horizon = c + CHURN_WINDOW_DAYS * _DAY
    returned = set(active.loc[(dates > c) & (dates <= horizon), _USER].unique())
    index = pd.Index(population, name=_USER)
    return pd.Series(
        [0 if user in returned else 1 for user in population], index=index, name="churned"
    ).astype(int)


def choose_cutoffs(first_day: date, last_day: date) -> tuple[list[date], date]:
    """Holdout = ``last_day - 30`` (its label window ends on the last day of data); train
    cutoffs every 7 days back from ``holdout - 30`` (so their label windows end by the
    holdout) while a full 28-day activity window fits, i.e. ``cutoff >= first_day + 27``.
    Train cutoffs are returned in ascending order (possibly empty)."""
    holdout = _day(last_day) - CHURN_WINDOW_DAYS * _DAY
    earliest = _day(first_day) + (ACTIVE_WINDOW_DAYS - 1) * _DAY
    cutoffs: list[date] = []
    current = holdout - CHURN_WINDOW_DAYS * _DAY
    while current >= earliest:
        cutoffs.append(current.date())
        current -= CUTOFF_STEP_DAYS * _DAY
    return sorted(cutoffs), holdout.date()


def _dataset(
    activity: Activity, users: pd.DataFrame, engagement: pd.DataFrame, cutoffs: list[date]
) -> tuple[pd.DataFrame, pd.Series]:
    """Features and labels of every (user, cutoff) pair, stacked over the cutoffs."""
    prepared, daily = _prepare(activity), _prepare_engagement(engagement)
    frames, labels = [], []
    for cutoff in cutoffs:
        x = _features(prepared, users, daily, _day(cutoff))
        y = _labels(prepared, _day(cutoff)).reindex(x.index)
        frames.append(x.reset_index(drop=True))
        labels.append(y.reset_index(drop=True))
    if not frames:
        return pd.DataFrame(columns=list(FEATURE_NAMES), dtype=float), pd.Series(dtype=int)
    return pd.concat(frames, ignore_index=True), pd.concat(labels, ignore_index=True)


def _fit_model(x: pd.DataFrame, y: pd.Series) -> CalibratedClassifierCV:
    """Histogram gradient boosting, calibrated by 3-fold cross-validation (isotonic with
    at least 1,000 rows, else sigmoid, which needs fewer points). The folds are shuffled
    (seeded): rows are stacked by cutoff, and unshuffled folds would calibrate each fold
    on a different period. Fixed seeds, no early stopping: reruns give the same model."""
    booster = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=200,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=SEED,
    )
    method = "isotonic" if len(x) >= 1_000 else "sigmoid"
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=SEED)
    return CalibratedClassifierCV(booster, method=method, cv=folds).fit(x, y)


def _calibration_table(y: np.ndarray, p: np.ndarray) -> list[dict[str, Any]]:
    """Ten equal-width bins of predicted probability: mean predicted, observed churn rate
    and count per bin (``None`` for empty bins)."""
    bins = np.minimum((p * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    table = []
    for b in range(CALIBRATION_BINS):
        mask = bins == b
        count = int(mask.sum())
        table.append(
            {
                "bin": f"{b / CALIBRATION_BINS:.1f}-{(b + 1) / CALIBRATION_BINS:.1f}",
                "mean_predicted": float(p[mask].mean()) if count else None,
                "observed": float(y[mask].mean()) if count else None,
                "count": count,
            }
        )
    return table


def _scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision) and Brier score."""
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
    }


def _version(x: pd.DataFrame, y: pd.Series, holdout: date) -> str:
    """``churn-<holdout>-<hash of the training rows>``: same data, same version."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(x.assign(_y=y), index=False).values)
    return f"churn-{holdout:%Y%m%d}-{digest.hexdigest()[:10]}"


def train(
    activity: Activity,
    users: pd.DataFrame,
    engagement: pd.DataFrame,
    *,
    holdout_cutoff: date,
    train_cutoffs: list[date],
) -> ChurnModel:
    """Train on ``train_cutoffs``, validate on ``holdout_cutoff`` (time split).

    Every train cutoff's label window must end on or before the holdout cutoff (else
    ``ValueError``). Raises ``NotEnoughData`` with fewer than ``MIN_TRAIN_ROWS`` training or
    holdout rows, or a single class in either. Metrics: ``roc_auc``, ``pr_auc``, ``brier``,
    ``calibration`` (10 bins), the same three for a recency-only logistic regression
    (``baseline_*``) on the same holdout, ``holdout_rows``, ``train_rows``, ``churn_rate``
    (holdout) and ``train_churn_rate``.
    """
    holdout = _day(holdout_cutoff)
    late = [c for c in train_cutoffs if _day(c) + CHURN_WINDOW_DAYS * _DAY > holdout]
    if late:
        raise ValueError(f"train cutoffs {late} have label windows ending after the holdout")
    cutoffs = sorted(_day(c).date() for c in train_cutoffs)
    x_train, y_train = _dataset(activity, users, engagement, cutoffs)
    x_hold, y_hold = _dataset(activity, users, engagement, [holdout.date()])
    if len(x_train) < MIN_TRAIN_ROWS or len(x_hold) < MIN_TRAIN_ROWS:
        raise NotEnoughData(
            f"churn needs at least {MIN_TRAIN_ROWS} training and holdout rows; got "
            f"{len(x_train)} training rows and {len(x_hold)} holdout rows"
        )
    if y_train.nunique() < 2 or y_hold.nunique() < 2:
        raise NotEnoughData("churn needs both churned and retained users in train and holdout")

    model = _fit_model(x_train, y_train)
    y = y_hold.to_numpy()
    p = model.predict_proba(x_hold)[:, 1]
    baseline = LogisticRegression().fit(x_train[["recency_days"]], y_train)
    p_base = baseline.predict_proba(x_hold[["recency_days"]])[:, 1]
    metrics: dict[str, Any] = {
        **_scores(y, p),
        "calibration": _calibration_table(y, p),
        **{f"baseline_{k}": v for k, v in _scores(y, p_base).items()},
        "holdout_rows": len(x_hold),
        "train_rows": len(x_train),
        "churn_rate": float(y.mean()),
        "train_churn_rate": float(y_train.mean()),
    }

    sample = x_hold.sample(min(len(x_hold), IMPORTANCE_SAMPLE_ROWS), random_state=SEED)
    result = permutation_importance(
        model, sample, y_hold.loc[sample.index], scoring="roc_auc", n_repeats=5,
        random_state=SEED,
    )  # fmt: skip
    names = list(FEATURE_NAMES)
    churned = x_train.loc[y_train.to_numpy() == 1].mean()
    retained = x_train.loc[y_train.to_numpy() == 0].mean()
    return ChurnModel(
        model=model,
        feature_names=names,
        train_cutoffs=cutoffs,
        holdout_cutoff=holdout.date(),
        metrics=metrics,
        version=_version(x_train, y_train, holdout.date()),
        importance={
            n: max(float(v), 0.0) for n, v in zip(names, result.importances_mean, strict=True)
        },
        reference={n: (float(x_train[n].mean()), float(x_train[n].std(ddof=0))) for n in names},
        direction={n: 1 if churned[n] >= retained[n] else -1 for n in names},
        base_rate=float(y_train.mean()),
    )


def _group(feature: str) -> str:
    """Features that one phrase describes together (trend, one-hot groups)."""
    if feature.startswith("active_days_") and feature != "active_days_28":
        return "trend"
    if feature.startswith(("device_", "channel_")):
        return feature.split("_", 1)[0]
    if feature in ("orders_28", "order_revenue_usd_28"):
        return "orders"
    if feature.startswith("engagement_score_"):
        return "engagement"
    return feature


_CONTENT_LABELS = {
    "article": "articles",
    "video": "videos",
    "fighter": "fighter pages",
    "fight_event": "fight events",
}


def _phrase(group: str, row: pd.Series) -> str:
    """A driver in words from the user's feature values."""
    n = {k: round(float(v)) for k, v in row.items() if not k.startswith("share_")}
    if group == "recency_days":
        return f"no activity for {n['recency_days']} days"
    if group == "active_days_28":
        return f"active on {n['active_days_28']} of the last 28 days"
    if group == "trend":
        before, after = n["active_days_prev_14"], n["active_days_last_14"]
        verb = "fell" if after < before else "rose" if after > before else "held"
        if verb == "held":
            return f"active days held at {after} per fortnight"
        return f"active days {verb} from {before} to {after}"
    if group == "sessions_28":
        return f"{n['sessions_28']} sessions in the last 28 days"
    if group == "page_views_28":
        return f"{n['page_views_28']} page views in the last 28 days"
    if group == "engaged_minutes_28":
        return f"{n['engaged_minutes_28']} engaged minutes in the last 28 days"
    if group == "engagement":
        level, trend = row["engagement_score_28"], row["engagement_score_trend"]
        verb = "falling" if trend < 0 else "rising" if trend > 0 else "steady"
        return f"engagement score {level:.1f} a day, {verb} ({trend:+.1f} over 14 days)"
    if group.startswith("share_"):
        label = _CONTENT_LABELS[group.removeprefix("share_")]
        return f"{row[group]:.0%} of page views on {label}"
    if group == "orders":
        return f"{n['orders_28']} orders (${row['order_revenue_usd_28']:.2f}) in the last 28 days"
    if group == "subscribed":
        return "has an active subscription" if n["subscribed"] else "no active subscription"
    if group == "signed_up":
        return "signed up" if n["signed_up"] else "not signed up"
    if group == "tenure_days":
        return f"first active {n['tenure_days']} days ago"
    if group == "device":
        device = next(d for d in DEVICE_TYPES if n[f"device_{d}"])
        return f"first seen on {device}"
    channel = next(c for c in CHANNELS if n[f"channel_{c}"])
    return f"arrived via {channel}"


def _drivers(model: ChurnModel, x: pd.DataFrame, p: np.ndarray, top: int = 3) -> list[list[str]]:
    """Top drivers per user, in words.

    Contribution of feature f for a user = importance(f) x z(f) x direction(f), where
    z is the user's deviation from the training mean in standard deviations, importance
    the permutation importance and direction +1 when higher values go with churn. For a
    user scored above the training churn rate the largest contributions (pushing risk up)
    are reported; below it, the most negative ones (keeping risk down). One phrase per
    group of related features.
    """
    names = model.feature_names
    mean = np.array([model.reference[n][0] for n in names])
    std = np.array([model.reference[n][1] or 1.0 for n in names])
    weight = np.array([model.importance[n] * model.direction[n] for n in names])
    contrib = (x[names].to_numpy() - mean) / std * weight
    side = np.where(p >= model.base_rate, 1.0, -1.0)[:, None]
    order = np.argsort(-(contrib * side), axis=1, kind="stable")
    out = []
    for i, row_order in enumerate(order):
        row = x.iloc[i]
        groups: list[str] = []
        for j in row_order:
            group = _group(names[j])
            if group not in groups:
                groups.append(group)
            if len(groups) == top:
                break
        out.append([_phrase(g, row) for g in groups])
    return out


def risk_band(probability: float) -> str:
    """``high`` >= 0.6, ``medium`` >= 0.3, else ``low``."""
    if probability >= HIGH_RISK:
        return "high"
    return "medium" if probability >= MEDIUM_RISK else "low"


def score(
    model: ChurnModel,
    activity: Activity,
    users: pd.DataFrame,
    engagement: pd.DataFrame,
    *,
    as_of: date,
    scored_at: datetime | None = None,
) -> pd.DataFrame:
    """Churn probability of every user active in ``[as_of - 27, as_of]``.

    Columns: ``stitched_user_id``, ``probability`` (calibrated), ``risk_band``, ``drivers``
    (list of three phrases, see ``_drivers``), ``model_version``, ``as_of`` and
    ``scored_at`` (now in UTC unless given, for reproducible output). Sorted by
    probability, highest first, then user.
    """
    x = features_at(activity, users, engagement, as_of).reindex(
        columns=model.feature_names, fill_value=0.0
    )
    columns = [_USER, "probability", "risk_band", "drivers", "model_version", "as_of", "scored_at"]
    if x.empty:
        return pd.DataFrame(columns=columns)
    p = model.model.predict_proba(x)[:, 1]
    stamp = pd.Timestamp(scored_at or datetime.now(UTC))
    out = pd.DataFrame(
        {
            _USER: x.index.to_numpy(),
            "probability": p,
            "risk_band": [risk_band(v) for v in p],
            "drivers": _drivers(model, x, p),
            "model_version": model.version,
            "as_of": _day(as_of),
            "scored_at": stamp,
        }
    )
    out = out.sort_values(["probability", _USER], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)[columns]
