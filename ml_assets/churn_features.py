"""Churn features and labels (issue 7, item 2): what the churn model learns from, as pure
functions over pandas frames. The model itself (training, scoring, drivers in words) is
``ml_assets.churn``.

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

No I/O here: the caller reads the marts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

CHURN_WINDOW_DAYS = 30
ACTIVE_WINDOW_DAYS = 28
TREND_WINDOW_DAYS = 14

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
USER = "stitched_user_id"
# Activity.days: one row per user and UTC day with any event (see Activity).
USER_DAY_COLUMNS = (
    USER,
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
LONG_SESSION_COLUMNS = (USER, "first_day", "last_day", "sessions")
# mart_user_engagement_daily: one row per user and active day (docs/metrics.md engagement score).
ENGAGEMENT_COLUMNS = (USER, "event_date", "engaged_minutes", "engagement_score")


@dataclass(frozen=True)
class Activity:
    """What the churn model reads of the events: aggregates the warehouse computes (the
    marts mart_ml_user_activity_daily and mart_ml_user_long_sessions, read by
    ``ml_assets.inputs.churn_activity``), never the events themselves.

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


def as_day(value: date | datetime | pd.Timestamp) -> pd.Timestamp:
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
    return rows.groupby(USER)["event_date"].nunique()


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
    return (days.groupby(USER)["subscription_state"].last() == 1).astype(float)


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
    return _features(_prepare(activity), users, _prepare_engagement(engagement), as_day(cutoff))


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
    by_user = rows.groupby(USER)
    last = rows.loc[recent].groupby(USER)["engagement_score"].sum() / TREND_WINDOW_DAYS
    prev = rows.loc[~recent].groupby(USER)["engagement_score"].sum() / TREND_WINDOW_DAYS
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
    started = window.groupby(USER)["sessions_started"].sum()
    carried = reaching.groupby(USER)["sessions"].sum().reindex(started.index, fill_value=0.0)
    return started + carried


def _features(
    prepared: Activity, users: pd.DataFrame, engagement: pd.DataFrame, c: pd.Timestamp
) -> pd.DataFrame:
    """``features_at`` over frames already passed through ``_prepare*``."""
    days = prepared.days
    past = days.loc[days["event_date"] <= c]
    start = c - (ACTIVE_WINDOW_DAYS - 1) * _DAY
    active = past.loc[past["active_events"] > 0]
    ids = pd.Index(sorted(active.loc[active["event_date"] >= start, USER].unique()), name=USER)
    out = pd.DataFrame(index=ids)
    if ids.empty:
        return pd.DataFrame(columns=list(FEATURE_NAMES), index=ids, dtype=float)
    past = past.loc[past[USER].isin(ids)]
    active = active.loc[active[USER].isin(ids)]
    window = past.loc[past["event_date"] >= start]

    out["recency_days"] = (c - active.groupby(USER)["event_date"].max()).dt.days
    out["active_days_28"] = _active_days(active, start, c)
    last_start = c - (TREND_WINDOW_DAYS - 1) * _DAY
    out["active_days_last_14"] = _active_days(active, last_start, c)
    out["active_days_prev_14"] = _active_days(active, start, last_start - _DAY)
    out = out.fillna(0.0)
    out["active_days_trend"] = out["active_days_last_14"] - out["active_days_prev_14"]
    out["sessions_28"] = _sessions_28(prepared, window, start)
    totals = window.groupby(USER)[
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

    profile = users.drop_duplicates(USER).set_index(USER).reindex(ids)
    known_first = _naive_utc(profile["first_active_at"]).dt.normalize()
    known_first = known_first.where(known_first <= c)
    first_seen = pd.concat([active.groupby(USER)["event_date"].min(), known_first], axis=1).min(
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
    return _labels(_prepare(activity), as_day(cutoff))


def _labels(prepared: Activity, c: pd.Timestamp) -> pd.Series:
    """``labels_at`` over activity already passed through ``_prepare``."""
    days = prepared.days
    active = days.loc[days["active_events"] > 0]
    dates = active["event_date"]
    start = c - (ACTIVE_WINDOW_DAYS - 1) * _DAY
    population = sorted(active.loc[(dates >= start) & (dates <= c), USER].unique())
    horizon = c + CHURN_WINDOW_DAYS * _DAY
    returned = set(active.loc[(dates > c) & (dates <= horizon), USER].unique())
    index = pd.Index(population, name=USER)
    return pd.Series(
        [0 if user in returned else 1 for user in population], index=index, name="churned"
    ).astype(int)


def dataset(
    activity: Activity, users: pd.DataFrame, engagement: pd.DataFrame, cutoffs: list[date]
) -> tuple[pd.DataFrame, pd.Series]:
    """Features and labels of every (user, cutoff) pair, stacked over the cutoffs."""
    prepared, daily = _prepare(activity), _prepare_engagement(engagement)
    frames, labels = [], []
    for cutoff in cutoffs:
        x = _features(prepared, users, daily, as_day(cutoff))
        y = _labels(prepared, as_day(cutoff)).reindex(x.index)
        frames.append(x.reset_index(drop=True))
        labels.append(y.reset_index(drop=True))
    if not frames:
        return pd.DataFrame(columns=list(FEATURE_NAMES), dtype=float), pd.Series(dtype=int)
    return pd.concat(frames, ignore_index=True), pd.concat(labels, ignore_index=True)
