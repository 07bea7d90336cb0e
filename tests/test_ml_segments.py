"""Segmentation on data whose answer is known: planted behaviour groups are recovered."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from ml_assets.segments import (
    FEATURES,
    USER,
    NotEnoughData,
    behaviour_features,
    name_segments,
    segment_users,
)

# Centres of planted groups in raw feature space (counts, then shares), in FEATURES order:
# active_days, page_views, video_completions, searches, social_actions, purchases,
# article/video/fighter/fight_event share, saturday_share, mobile_share.
GROUPS = {
    "fight-night video": [4, 30, 12, 1, 2, 0, 0.1, 0.7, 0.1, 0.1, 0.7, 0.6],
    "news readers": [22, 120, 1, 3, 4, 0, 0.85, 0.05, 0.05, 0.05, 0.14, 0.3],
    "casual": [1, 3, 0, 0, 0, 0, 0.4, 0.3, 0.2, 0.1, 0.15, 0.5],
    "buyers": [10, 40, 3, 10, 10, 3, 0.3, 0.2, 0.3, 0.2, 0.3, 0.2],
}
NOISE = [0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.04, 0.04, 0.04, 0.04, 0.04, 0.05]


def planted_features(per_group: int = 300, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """Gaussian blobs: counts jittered multiplicatively (log scale), shares additively."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for g, centre in enumerate(GROUPS.values()):
        c = np.array(centre, dtype=float)
        noise = rng.normal(0.0, NOISE, size=(per_group, len(c)))
        counts = np.maximum(np.round(np.expm1(np.log1p(c[:6]) + noise[:, :6])), 0)
        shares = np.clip(c[6:] + noise[:, 6:], 0, 1)
        rows.append(np.hstack([counts, shares]))
        truth += [g] * per_group
    feats = pd.DataFrame(np.vstack(rows), columns=list(FEATURES))
    feats.insert(0, USER, [f"u{i:05d}" for i in range(len(feats))])
    order = rng.permutation(len(feats))  # input order must not matter
    return feats.iloc[order].reset_index(drop=True), np.array(truth)[order]


def test_recovers_planted_groups_and_is_stable() -> None:
    feats, truth = planted_features()
    assignments, profiles, metrics = segment_users(feats)
    got = assignments.set_index(USER).loc[feats[USER], "segment_id"].to_numpy()
    ari = adjusted_rand_score(truth, got)
    print(f"ARI={ari:.3f} k={metrics['k']} silhouette={metrics['silhouette']:.3f}")
    assert ari >= 0.9
    assert metrics["k"] == 4
    assert set(metrics["silhouette_by_k"]) == set(range(3, 9))
    # Same input (even shuffled) gives the same ids and names.
    again, profiles2, _ = segment_users(feats.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(
        assignments.sort_values(USER).reset_index(drop=True),
        again.sort_values(USER).reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(profiles, profiles2)
    # Ids are ordered by size; names unique and readable.
    assert profiles["users"].is_monotonic_decreasing
    assert profiles["segment_name"].is_unique
    assert profiles["share"].sum() == pytest.approx(1.0)
    names = dict(zip(profiles["segment_id"], profiles["segment_name"], strict=True))
    by_group = {g: names[pd.Series(got[truth == i]).mode()[0]] for i, g in enumerate(GROUPS)}
    print(by_group)
    assert by_group["fight-night video"] == "fight-night video watchers"
    assert by_group["news readers"] == "daily news readers"
    assert by_group["casual"] == "casual browsers"
    assert all(
        d.startswith(f"{n} users")
        for n, d in zip(profiles["users"], profiles["description"], strict=True)
    )


def test_names_unique_on_clash() -> None:
    z = pd.DataFrame({f: [0.0, 0.0, -1.0, -1.2] for f in FEATURES})
    z.loc[[0, 1], "video_share"] = [2.0, 1.5]
    z.loc[[0, 1], "saturday_share"] = [2.0, 1.5]
    names = name_segments(z)
    assert len(set(names.values())) == 4
    assert names[0] == "fight-night video watchers"
    assert names[1] != names[0]
    assert names[2] == "casual browsers" and names[3] == "casual browsers 2"


def test_not_enough_users() -> None:
    feats, _ = planted_features(per_group=20)
    with pytest.raises(NotEnoughData, match="at least 100"):
        segment_users(feats)


def test_behaviour_features_from_events() -> None:
    sat, mon = "2026-01-03 20:00", "2026-01-05 09:00"  # a Saturday and a Monday
    rows = [
        ("a", sat, "page", None, True, "video", "mobile"),
        ("a", sat, "track", "Video Content Completed", False, "video", "mobile"),
        ("a", sat, "track", "Page Heartbeat", False, "video", "mobile"),
        ("a", mon, "page", None, True, "article", "desktop"),
        ("a", mon, "track", "Content Shared", False, "article", "desktop"),
        ("b", mon, "track", "Products Searched", False, None, "ios"),
        ("b", mon, "track", "Order Completed", False, None, "ios"),
    ]
    events = pd.DataFrame(
        rows,
        columns=[
            USER,
            "event_time",
            "event_type",
            "event_name",
            "is_page_view",
            "content_type",
            "device_type",
        ],
    )
    events["event_time"] = pd.to_datetime(events["event_time"])
    events["event_date"] = events["event_time"].dt.floor("D")
    events["is_active_event"] = events["event_name"].ne("Page Heartbeat")
    users = pd.DataFrame({USER: ["a", "b"]})
    f = behaviour_features(events, users).set_index(USER)
    assert list(f.columns) == list(FEATURES)
    a, b = f.loc["a"], f.loc["b"]
    assert (a["active_days"], a["page_views"], a["video_completions"]) == (2, 2, 1)
    assert (a["social_actions"], a["searches"], a["purchases"]) == (1, 0, 0)
    assert a["video_share"] == 0.5 and a["article_share"] == 0.5
    assert a["saturday_share"] == 0.5 and a["mobile_share"] == 0.5  # heartbeat not counted
    assert (b["searches"], b["purchases"], b["page_views"], b["mobile_share"]) == (1, 1, 0, 1.0)
    assert b["video_share"] == 0.0
