"""The churn model (issue 7, item 2): trained on the features of ``ml_assets.churn_features``
at earlier cutoffs, validated on a later one, and scored with each user's top drivers in
words. Pure functions over pandas frames.

- **Time split**: the model trains on earlier cutoffs whose label window ends on or before
  the holdout cutoff and is validated on the holdout cutoff only; never a random split.
- **Drivers**: each score is explained by the features that push it furthest from the
  training churn rate (``_drivers``), one phrase per group of related features.

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

from ml_assets.churn_features import (
    ACTIVE_WINDOW_DAYS,
    CHANNELS,
    CHURN_WINDOW_DAYS,
    DEVICE_TYPES,
    FEATURE_NAMES,
    USER,
    Activity,
    as_day,
    dataset,
    features_at,
)
from ml_assets.errors import NotEnoughData

CUTOFF_STEP_DAYS = 7
MIN_TRAIN_ROWS = 100
SEED = 0
HIGH_RISK = 0.6
MEDIUM_RISK = 0.3
CALIBRATION_BINS = 10
IMPORTANCE_SAMPLE_ROWS = 5_000
_DAY = pd.Timedelta(days=1)


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


def choose_cutoffs(first_day: date, last_day: date) -> tuple[list[date], date]:
    """Holdout = ``last_day - 30`` (its label window ends on the last day of data); train
    cutoffs every 7 days back from ``holdout - 30`` (so their label windows end by the
    holdout) while a full 28-day activity window fits, i.e. ``cutoff >= first_day + 27``.
    Train cutoffs are returned in ascending order (possibly empty)."""
    holdout = as_day(last_day) - CHURN_WINDOW_DAYS * _DAY
    earliest = as_day(first_day) + (ACTIVE_WINDOW_DAYS - 1) * _DAY
    cutoffs: list[date] = []
    current = holdout - CHURN_WINDOW_DAYS * _DAY
    while current >= earliest:
        cutoffs.append(current.date())
        current -= CUTOFF_STEP_DAYS * _DAY
    return sorted(cutoffs), holdout.date()


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
    holdout = as_day(holdout_cutoff)
    late = [c for c in train_cutoffs if as_day(c) + CHURN_WINDOW_DAYS * _DAY > holdout]
    if late:
        raise ValueError(f"train cutoffs {late} have label windows ending after the holdout")
    cutoffs = sorted(as_day(c).date() for c in train_cutoffs)
    x_train, y_train = dataset(activity, users, engagement, cutoffs)
    x_hold, y_hold = dataset(activity, users, engagement, [holdout.date()])
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
    columns = [USER, "probability", "risk_band", "drivers", "model_version", "as_of", "scored_at"]
    if x.empty:
        return pd.DataFrame(columns=columns)
    p = model.model.predict_proba(x)[:, 1]
    stamp = pd.Timestamp(scored_at or datetime.now(UTC))
    out = pd.DataFrame(
        {
            USER: x.index.to_numpy(),
            "probability": p,
            "risk_band": [risk_band(v) for v in p],
            "drivers": _drivers(model, x, p),
            "model_version": model.version,
            "as_of": as_day(as_of),
            "scored_at": stamp,
        }
    )
    out = out.sort_values(["probability", USER], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)[columns]
