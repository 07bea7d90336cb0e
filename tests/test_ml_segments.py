"""Segmentation on data whose answer is known: planted behaviour groups are recovered."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, homogeneity_score

from ml_assets.segments import (
    BEHAVIOUR_COLUMNS,
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
NOISE = [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.08, 0.08, 0.08, 0.08, 0.08, 0.1]


def planted_features(per_group: int = 150, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
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


def _totals(rows: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Per-user totals (BEHAVIOUR_COLUMNS, 0 unless given)."""
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(
        columns=list(BEHAVIOUR_COLUMNS), fill_value=0
    )
    return frame.fillna(0).astype("int64").rename_axis(USER).reset_index()


def test_behaviour_features_from_totals() -> None:
    # a: Saturday 20:00 on a phone: a video page view, a video completion and a heartbeat
    # (not activity); Monday 09:00 on a desktop: an article page view and a share.
    # b: Monday on iOS: a search and an order. c: heartbeats only (no active event).
    totals = _totals(
        {
            "a": {
                "active_days": 2,
                "active_events": 4,
                "page_views": 2,
                "views_video": 1,
                "views_article": 1,
                "video_completions": 1,
                "social_actions": 1,
                "saturday_events": 2,
                "mobile_events": 2,
            },
            "b": {
                "active_days": 1,
                "active_events": 2,
                "searches": 1,
                "purchases": 1,
                "mobile_events": 2,
            },
            "c": {},
        }
    )
    users = pd.DataFrame({USER: ["a", "b", "c"]})
    f = behaviour_features(totals, users).set_index(USER)
    assert list(f.columns) == list(FEATURES)
    assert list(f.index) == ["a", "b"]
    a, b = f.loc["a"], f.loc["b"]
    assert (a["active_days"], a["page_views"], a["video_completions"]) == (2, 2, 1)
    assert (a["social_actions"], a["searches"], a["purchases"]) == (1, 0, 0)

    # Shares are smoothed: (hits + 5 * population share) / (total + 5).
    def smoothed(hits: float, total: float, prior: float) -> float:
        return (hits + 5 * prior) / (total + 5)

    assert a["video_share"] == pytest.approx(smoothed(1, 2, 0.5))  # 2 page views, 1 video
    assert b["video_share"] == pytest.approx(0.5) and a["fighter_share"] == 0.0
    # Active events (heartbeat excluded): a has 4 (2 on Saturday, 2 mobile), b has 2 (ios).
    assert a["saturday_share"] == pytest.approx(smoothed(2, 4, 2 / 6))
    assert a["mobile_share"] == pytest.approx(smoothed(2, 4, 4 / 6))
    assert b["mobile_share"] == pytest.approx(smoothed(2, 2, 4 / 6))
    assert (b["searches"], b["purchases"], b["page_views"]) == (1, 1, 0)
    # Users outside `users` are left out when it has any.
    only_b = behaviour_features(totals, pd.DataFrame({USER: ["b"]}))
    assert list(only_b[USER]) == ["b"]


def planted_totals(per_group: int = 100, seed: int = 5) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per-user totals of three planted audiences over four weeks from Monday 2026-01-05:
    Saturday night video watchers, daily article readers, and one-visit browsers."""
    rng = np.random.default_rng(seed)
    rows, truth = {}, {}
    for g in range(3):
        for u in range(per_group):
            user = f"g{g}u{u:03d}"
            truth[user] = g
            if g == 0:  # the four Saturdays, evenings, videos, mostly on phones
                days = [5, 12, 19, 26]
                kinds, names, device = ["video"], ["video_completions"], "mobile"
                per_day = int(rng.integers(4, 8))
            elif g == 1:  # most weekdays, mornings, articles on desktop
                days = sorted(rng.choice(28, size=int(rng.integers(15, 22)), replace=False))
                kinds, names, device = ["article"], ["social_actions"], "desktop"
                per_day = int(rng.integers(3, 6))
            else:  # one visit, any content
                days = [int(rng.integers(0, 28))]
                kinds, names, device = ["article", "fighter", "video"], [], "desktop"
                per_day = int(rng.integers(1, 3))
            # Each day: per_day page views (the kinds in turn) and one event of each name.
            totals = dict.fromkeys(BEHAVIOUR_COLUMNS, 0)
            for d in days:
                events = per_day + len(names)
                totals["active_days"] += 1
                totals["active_events"] += events
                totals["page_views"] += per_day
                for i in range(per_day):
                    totals[f"views_{kinds[i % len(kinds)]}"] += 1
                for name in names:
                    totals[name] += 1
                totals["saturday_events"] += events if int(d) % 7 == 5 else 0  # 5: a Saturday
                totals["mobile_events"] += events if device == "mobile" else 0
            rows[user] = totals
    return _totals(rows), truth


def test_segments_from_planted_events() -> None:
    """From behaviour totals: no segment mixes planted audiences (the one-visit browsers may split
    into finer segments, e.g. by their one day; that is real structure) and each audience's
    main segment carries the expected name."""
    totals, truth = planted_totals()
    feats = behaviour_features(totals, pd.DataFrame({USER: list(truth)}))
    assignments, profiles, metrics = segment_users(feats)
    assignments["group"] = assignments[USER].map(truth)
    homogeneity = homogeneity_score(assignments["group"], assignments["segment_id"])
    ari = adjusted_rand_score(assignments["group"], assignments["segment_id"])
    print(f"homogeneity={homogeneity:.3f} ARI={ari:.3f} k={metrics['k']}")
    print(list(profiles["segment_name"]))
    assert homogeneity >= 0.99
    main = assignments.groupby("group")["segment_name"].agg(lambda s: s.mode()[0])
    assert main[0] == "fight-night video watchers"
    assert main[1] == "daily news readers"
    assert main[2] == "casual browsers"
    assert (
        assignments.loc[assignments["group"] < 2].groupby("group")["segment_id"].nunique() == 1
    ).all()
