"""User segmentation: behavioural features, k-means with k chosen by silhouette, readable names.

Pure functions over DataFrames (no I/O). The lead wires them into the `ml_user_segments` and
`ml_segment_profiles` assets.

Choices:
- Features are per stitched user over the per-user totals passed in (``BEHAVIOUR_COLUMNS``,
  which the warehouse sums: ``ml_assets.inputs.user_behaviour``); never the events.
- Count features are heavy-tailed, so they are `log1p`-transformed before standardizing;
  shares (0..1) are standardized as they are.
- k-means (`n_init=10`, `random_state=SEED`) for every k in `K_RANGE`; k with the highest
  silhouette wins (ties: the smaller k). Silhouette is computed on a seeded sample of
  `SILHOUETTE_SAMPLE` users when there are more.
- Segment ids are ordered by size (largest = 0), so reruns on the same input give the same ids
  and names. Names come from the centroid's z-scores through the small rule set `NAME_RULES`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ml_assets.errors import NotEnoughData

K_RANGE = range(3, 9)
SEED = 7
MIN_USERS = 100
SILHOUETTE_SAMPLE = 20_000
# The silhouette's pairwise distances are computed in row chunks of at most this many MiB
# (scikit-learn's default, 1024, was most of the asset's 1.4 GiB peak on the 20k-user
# demo). Each row's distances are the same whatever the chunk, so the score is too.
SILHOUETTE_WORKING_MEMORY_MIB = 128
# k-means and silhouette run on one thread (OpenMP/BLAS): with other work on the same
# cores, more threads oversubscribe them (measured 33.7 s single-threaded vs 179.2 s default
# for 50k users on a loaded 2-core machine). Results do not depend on the thread count.
KMEANS_THREADS = 1
USER = "stitched_user_id"
CONTENT_TYPES = ("article", "video", "fighter", "fight_event")
PRIOR_WEIGHT = 5.0  # pseudo-events pulling a user's shares toward the population share

COUNT_FEATURES = (
    "active_days",
    "page_views",
    "video_completions",
    "searches",
    "social_actions",
    "purchases",
)
SHARE_FEATURES = (
    *(f"{ctype}_share" for ctype in CONTENT_TYPES),
    "saturday_share",
    "mobile_share",
)
FEATURES = (*COUNT_FEATURES, *SHARE_FEATURES)

# A name applies when every one of its features has a centroid z-score of at least
# NAME_THRESHOLD; the first applicable rule (most specific first) wins. A segment whose name is
# taken by a larger segment gets its next applicable name.
NAME_THRESHOLD = 0.5
NAME_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fight-night video watchers", ("video_share", "saturday_share")),
    ("daily news readers", ("article_share", "active_days")),
    ("paying fans", ("purchases",)),
    ("video watchers", ("video_share", "video_completions")),
    ("fight-night fans", ("saturday_share",)),
    ("news readers", ("article_share",)),
    ("fighter followers", ("fighter_share",)),
    ("event followers", ("fight_event_share",)),
    ("searchers", ("searches",)),
    ("social engagers", ("social_actions",)),
    ("loyal regulars", ("active_days", "page_views")),
    ("mobile-first fans", ("mobile_share",)),
)
LOW_ACTIVITY = ("active_days", "page_views")

# The per-user totals behaviour_features reads, over the user's active events (heartbeats
# are not activity): active days, active events, page views and page views per content
# type, the counted events by name, active events on Saturdays (UTC) and on mobile devices
# (the mart mart_ml_user_behaviour, whose vocabulary is vars.ml of dbt_project.yml).
BEHAVIOUR_COLUMNS = (
    "active_days",
    "active_events",
    "page_views",
    *(f"views_{ctype}" for ctype in CONTENT_TYPES),
    "video_completions",
    "searches",
    "social_actions",
    "purchases",
    "saturday_events",
    "mobile_events",
)


def behaviour_features(totals: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """One row per stitched user with at least one active event; columns `USER` + `FEATURES`.

    `totals`: one row per user, `USER` + `BEHAVIOUR_COLUMNS` (users without an active event
    may be there with zeros; they are left out). Counts: distinct active days, page views,
    video completions, searches (`Products Searched`), social actions (likes + shares +
    comments), purchases (`Order Completed`). Shares (smoothed, see `_smoothed_share`):
    page views per content type / page views; active events on Saturdays (fight nights,
    UTC) / active events; active events on mobile devices (mobile, ios, android) / active
    events. `users` restricts the rows to known users when it has any.
    """
    rows = totals.loc[pd.to_numeric(totals["active_events"]).fillna(0) > 0]
    if len(users):
        rows = rows.loc[rows[USER].isin(users[USER])]
    sums = rows.set_index(USER)[list(BEHAVIOUR_COLUMNS)].fillna(0).astype("int64").sort_index()
    out = pd.DataFrame(index=sums.index)
    for col in COUNT_FEATURES:
        out[col] = sums[col]
    for ctype in CONTENT_TYPES:
        out[f"{ctype}_share"] = _smoothed_share(sums[f"views_{ctype}"], sums["page_views"])
    out["saturday_share"] = _smoothed_share(sums["saturday_events"], sums["active_events"])
    out["mobile_share"] = _smoothed_share(sums["mobile_events"], sums["active_events"])
    return out.reset_index()[[USER, *FEATURES]]


def _smoothed_share(hits: pd.Series, total: pd.Series) -> pd.Series:
    """(hits + PRIOR_WEIGHT * population share) / (total + PRIOR_WEIGHT).

    Shrinks the shares of users with few events toward the population share, so one video
    view does not make a "pure video fan" (raw shares of 1-2 events are 0, 0.5 or 1 and
    would form spurious clusters of their own).
    """
    prior = float(hits.sum() / total.sum()) if total.sum() else 0.0
    return (hits + PRIOR_WEIGHT * prior) / (total + PRIOR_WEIGHT)


def _design_matrix(features: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Numeric feature matrix: count features `log1p`-ed (signed), then standardized."""
    cols = [c for c in features.columns if c != USER and pd.api.types.is_numeric_dtype(features[c])]
    raw = features[cols].astype("float64").fillna(0.0)
    for col in cols:
        if col in COUNT_FEATURES:
            raw[col] = np.sign(raw[col]) * np.log1p(raw[col].abs())
    return StandardScaler().fit_transform(raw.to_numpy()), cols


def _choose_k(x: np.ndarray) -> tuple[int, dict[int, float], dict[int, np.ndarray]]:
    """Fit k-means for each k in K_RANGE (k < n); return best k, silhouette by k, labels by k."""
    rng = np.random.default_rng(SEED)
    sample = (
        np.sort(rng.choice(len(x), SILHOUETTE_SAMPLE, replace=False))
        if len(x) > SILHOUETTE_SAMPLE
        else np.arange(len(x))
    )
    scores: dict[int, float] = {}
    labels: dict[int, np.ndarray] = {}
    for k in K_RANGE:
        if k >= len(x):
            break
        with threadpool_limits(limits=KMEANS_THREADS):
            fitted = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit(x)
            labels[k] = fitted.labels_
            if len(np.unique(fitted.labels_[sample])) < 2:
                continue
            with config_context(working_memory=SILHOUETTE_WORKING_MEMORY_MIB):
                scores[k] = float(silhouette_score(x[sample], fitted.labels_[sample]))
    best = max(scores, key=lambda k: (round(scores[k], 12), -k))
    return best, scores, labels


def _order_by_size(labels: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Relabel clusters 0.. by size (largest first; ties by centroid, lexicographically)."""
    keys = []
    for lab in np.unique(labels):
        centroid = x[labels == lab].mean(axis=0)
        keys.append((-int((labels == lab).sum()), *np.round(centroid, 9).tolist(), lab))
    mapping = {key[-1]: new for new, key in enumerate(sorted(keys))}
    return np.array([mapping[lab] for lab in labels], dtype="int64")


def _applicable_names(z: pd.Series) -> list[str]:
    """Names whose features all reach NAME_THRESHOLD in a centroid's z-scores, in rule order."""
    return [
        name
        for name, feats in NAME_RULES
        if all(f in z.index for f in feats) and float(z[list(feats)].min()) >= NAME_THRESHOLD
    ]


def name_segments(centroid_z: pd.DataFrame) -> dict[int, str]:
    """Unique readable names for segments (rows = segment ids in size order, cols = z-scores).

    Larger segments choose first. Activity (mean z of active days and page views) at or below
    -NAME_THRESHOLD names a segment "casual browsers" before any rule; otherwise the first
    applicable rule not yet taken. With none left: "casual browsers" (activity below average)
    or "all-round fans", with a numeric suffix on a clash ("casual browsers 2").
    """
    names: dict[int, str] = {}
    used: set[str] = set()
    for seg_id, z in centroid_z.iterrows():
        activity = [c for c in LOW_ACTIVITY if c in z.index]
        level = float(z[activity].mean()) if activity else 0.0
        first = ["casual browsers"] if level <= -NAME_THRESHOLD else []
        choice = next((n for n in [*first, *_applicable_names(z)] if n not in used), None)
        if choice is None:
            base = "casual browsers" if level < 0 else "all-round fans"
            choice, i = base, 2
            while choice in used:
                choice, i = f"{base} {i}", i + 1
        names[int(seg_id)] = choice
        used.add(choice)
    return names


def _describe(z: pd.Series, users: int, share: float) -> str:
    """Text profile: size and the three most distinctive features (|z|, in sd units)."""
    top = z.reindex(z.abs().sort_values(ascending=False, kind="stable").index)[:3]
    parts = ", ".join(f"{f.replace('_', ' ')} {v:+.1f} sd" for f, v in top.items())
    return f"{users} users ({share:.1%}); most distinctive: {parts}"


def segment_users(features: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Cluster users on standardized features; returns (assignments, profiles, metrics).

    assignments: `USER`, segment_id, segment_name. profiles: segment_id, segment_name, users,
    share, the raw feature means, description. metrics: k, silhouette, silhouette_by_k.
    Deterministic: rows are sorted by user first, k-means is seeded, ids are ordered by size.
    Raises NotEnoughData under MIN_USERS users.
    """
    if len(features) < MIN_USERS:
        raise NotEnoughData(
            f"segmentation needs at least {MIN_USERS} users, got {len(features)}; skipped"
        )
    feats = features.sort_values(USER, kind="stable").reset_index(drop=True)
    x, cols = _design_matrix(feats)
    k, scores, labels_by_k = _choose_k(x)
    labels = _order_by_size(labels_by_k[k], x)
    centroid_z = pd.DataFrame(x, columns=cols).groupby(labels).mean()
    names = name_segments(centroid_z)
    assignments = pd.DataFrame(
        {USER: feats[USER], "segment_id": labels, "segment_name": [names[i] for i in labels]}
    )
    sizes = pd.Series(labels).value_counts().sort_index()
    means = feats[cols].groupby(labels).mean()
    profiles = pd.DataFrame(
        {
            "segment_id": sizes.index.astype("int64"),
            "segment_name": [names[i] for i in sizes.index],
            "users": sizes.to_numpy(),
            "share": (sizes / sizes.sum()).to_numpy(),
        }
    )
    profiles = pd.concat([profiles, means.reset_index(drop=True)], axis=1)
    profiles["description"] = [
        _describe(centroid_z.loc[i], int(sizes[i]), float(sizes[i] / sizes.sum()))
        for i in sizes.index
    ]
    metrics = {"k": k, "silhouette": scores[k], "silhouette_by_k": scores}
    return assignments, profiles, metrics
