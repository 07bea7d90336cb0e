"""Recommendations and content insights on data whose answer is known."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from ml_assets.content_insights import INSIGHT_COLUMNS, ContentViews, content_insights
from ml_assets.recommendations import co_consumption, evaluate_hit_rate


def planted_views(users: int = 600, pairs: int = 40, seed: int = 3) -> pd.DataFrame:
    """Related items come in pairs (a_i, b_i) always viewed together, one right after the other;
    a few popular items are viewed in between by everyone at random."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, pairs + 1)  # some pairs far more viewed than others
    popularity /= popularity.sum()
    rows = []
    start = pd.Timestamp("2026-01-01")
    for u in range(users):
        t = start + pd.Timedelta(minutes=int(rng.integers(0, 10_000)))
        for p in rng.choice(pairs, size=3, replace=False, p=popularity):
            if rng.random() < 0.5:
                rows.append((f"u{u}", f"hot{rng.integers(0, 5)}", t))
                t += pd.Timedelta(minutes=5)
            first, second = (f"a{p}", f"b{p}") if rng.random() < 0.5 else (f"b{p}", f"a{p}")
            rows += [(f"u{u}", first, t), (f"u{u}", second, t + pd.Timedelta(minutes=3))]
            t += pd.Timedelta(hours=2)
    return pd.DataFrame(rows, columns=["stitched_user_id", "content_id", "event_time"])


def test_co_consumption_cosine_on_hand_built_views() -> None:
    views = pd.DataFrame(
        {
            "user": ["u1", "u1", "u2", "u2", "u2", "u3", "u1"],
            "content_id": ["x", "y", "x", "y", "z", "z", "x"],  # u1 sees x twice: counts once
            "event_time": pd.date_range("2026-01-01", periods=7, freq="h"),
        }
    )
    recs = co_consumption(views)
    assert list(recs.columns) == [
        "content_id",
        "recommended_content_id",
        "rank",
        "score",
        "co_viewers",
    ]
    x = recs.loc[recs["content_id"] == "x"].set_index("recommended_content_id")
    assert list(x.index) == ["y", "z"]  # cosine 2/sqrt(2*2) = 1 before 1/sqrt(2*2) = 0.5
    assert x.loc["y", "score"] == pytest.approx(1.0)
    assert x.loc["z", "score"] == pytest.approx(0.5)
    assert list(x["rank"]) == [1, 2]
    assert (recs["content_id"] != recs["recommended_content_id"]).all()


def test_top_n_limit_and_determinism() -> None:
    views = planted_views()
    recs = co_consumption(views)
    assert recs.groupby("content_id").size().max() <= 10
    pd.testing.assert_frame_equal(recs, co_consumption(views.sample(frac=1.0, random_state=1)))
    top = recs.loc[recs["rank"] == 1].set_index("content_id")["recommended_content_id"]
    assert all(top[f"a{p}"] == f"b{p}" for p in range(40) if f"a{p}" in top.index)


def test_hit_rate_beats_popularity_on_planted_co_viewing() -> None:
    result = evaluate_hit_rate(planted_views())
    print(result)
    assert result["users_evaluated"] == 600
    assert result["hit_rate"] >= 0.9
    assert result["hit_rate"] > result["baseline_hit_rate"] + 0.3


def _tiny_views(timed: bool = True) -> ContentViews:
    """Two weeks of views; videos peak on Saturdays at 21h, articles on Mondays at 8h.

    Every day at 12h one view of v1 (video, 60 s on page) and one of a1 (article, 20 s);
    on the two Saturdays 30 views of v2 (video, 90 s) at 21h, on the two Mondays 30 of a2
    (article, 15 s) at 8h. Every view is engaged (>= 10 s). Without time on page there
    are no interactions either.
    """
    slots = []
    for day in pd.date_range("2026-01-05", "2026-01-18", freq="D"):  # Mon 5th .. Sun 18th
        slots += [("video", day, 12, 1), ("article", day, 12, 1)]
        if day.day_name() == "Saturday":
            slots.append(("video", day, 21, 30))
        if day.day_name() == "Monday":
            slots.append(("article", day, 8, 30))
    slot_frame = pd.DataFrame(slots, columns=["content_type", "event_date", "event_hour", "views"])
    items = pd.DataFrame(
        [
            ("video", "v1", 14, 14 * 60.0),
            ("video", "v2", 60, 60 * 90.0),
            ("article", "a1", 14, 14 * 20.0),
            ("article", "a2", 60, 60 * 15.0),
        ],
        columns=["content_type", "content_id", "views", "time_on_page_sum"],
    )
    if not timed:
        return ContentViews(
            slot_frame, items.drop(columns="time_on_page_sum"), pd.Series(dtype=float)
        )
    return ContentViews(
        slot_frame.assign(engaged_views=slot_frame["views"]),
        items.assign(engaged_views=items["views"], time_on_page_known=items["views"]),
    )


def test_insights_best_weekday_and_hour_from_view_time() -> None:
    insights = content_insights(_tiny_views(timed=False), None)
    assert list(insights.columns) == INSIGHT_COLUMNS
    best = insights.loc[insights["insight_type"].str.startswith("best_publish")].set_index(
        ["content_type", "dimension"]
    )
    assert best.loc[("video", "weekday"), "value"] == "Saturday"
    assert best.loc[("article", "weekday"), "value"] == "Monday"
    assert best.loc[("video", "hour"), "value"] == "21"
    assert best.loc[("article", "hour"), "value"] == "8"
    assert "view time used as proxy" in best.loc[("video", "weekday"), "note"]
    # Saturday: 2 days x (1 + 30) views of 2*7 + 60 = 74 -> per day 31 vs average 74/14.
    assert best.loc[("video", "weekday"), "metric"] == pytest.approx(31.0)
    assert best.loc[("video", "weekday"), "lift"] == pytest.approx(31.0 / (74 / 14))
    seasonal = insights.loc[insights["insight_type"] == "seasonal_profile"]
    for (_, _), group in seasonal.groupby(["content_type", "dimension"]):
        assert group["metric"].sum() == pytest.approx(1.0)
    months = seasonal.loc[(seasonal["content_type"] == "all") & (seasonal["dimension"] == "month")]
    assert list(months["value"]) == ["January"]


def test_insights_publish_time_and_above_average_formats() -> None:
    content = pd.DataFrame(
        {
            "content_id": ["v1", "v2", "a1", "a2"],
            "published_at": pd.to_datetime(
                ["2026-01-05 12:00", "2026-01-10 21:00", "2026-01-05 12:00", "2026-01-05 08:00"]
            ),
            "fighters_json": ['["Ana Lima", "Bo Reyes"]', '["Ana Lima"]', None, "Bo Reyes"],
            "weight_class": ["flyweight", "flyweight", None, "heavyweight"],
        }
    )
    insights = content_insights(_tiny_views(), content)
    best = insights.loc[insights["insight_type"] == "best_publish_weekday"].set_index(
        "content_type"
    )
    assert best.loc["video", "value"] == "Saturday"  # v2 (published Sat) has 60 views, v1 14
    assert "by publish time" in best.loc["video", "note"]
    above = insights.loc[insights["insight_type"] == "above_average_engagement"]
    found = set(zip(above["dimension"], above["value"], strict=True))
    # Mean time on page: video 87 s ((14*60 + 60*90)/74), article 15.3 s; average 54.6 s.
    assert ("content_type", "video") in found and ("content_type", "article") not in found
    assert ("fighter", "Ana Lima") in found and ("weight_class", "flyweight") in found
    assert ("weight_class", "heavyweight") not in found
    assert (above["lift"] > 1).all()
    assert not math.isnan(above["metric"].iloc[0])


def test_insights_same_with_dates_of_either_engine_and_utc_aware_days() -> None:
    """Days as DuckDB returns them (datetime64), as PostgreSQL does (datetime.date) and
    as UTC-aware timestamps give the same insights."""
    views = _tiny_views()
    expected = content_insights(views, None)
    for days in (
        views.slots["event_date"].dt.date,
        views.slots["event_date"].dt.tz_localize("UTC"),
    ):
        slots = views.slots.assign(event_date=days)
        pd.testing.assert_frame_equal(content_insights(replace(views, slots=slots), None), expected)
