"""Content recommendations from co-consumption, their offline evaluation, and content insights.

Pure functions over DataFrames (no I/O). The lead wires them into the
`ml_content_recommendations` and `ml_content_insights` assets.

Choices:
- Item-to-item similarity is the **cosine** of binary user-item view vectors:
  score(i, j) = users who viewed both / sqrt(users who viewed i * users who viewed j).
  Repeat views by one user count once. Ties are broken by content id, so output is stable.
- Evaluation: each user's last view (by event time, after collapsing consecutive repeats of the
  same item) is held out; recommendations are built on all remaining views; a hit is the
  held-out item among the top-k recommendations of the user's previous item. The baseline
  recommends the k items with most distinct viewers in the training views (the previous item
  left out, as recommendations never include the item itself).
- Insights (`content_insights`) are descriptive: slot profiles are normalized by calendar
  exposure (how many Saturdays, days of a month... the data covers), and every row's note
  says which proxy it used when publish time or time on page is not given.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy import sparse

TOP_N = 10
USER = "stitched_user_id"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ENGAGED_SECONDS = 10.0  # a page view with at least this time on page is an engaged view
MIN_VIEWS = 30  # fewer views than this in a group: no format/topic insight (noise)
INTERACTIONS = ("Content Liked", "Content Shared", "Comment Posted", "Video Content Completed")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
INSIGHT_COLUMNS = ["insight_type", "content_type", "dimension", "value", "metric", "lift", "note"]


def _user_col(views: pd.DataFrame) -> str:
    """The user column of a views frame: `stitched_user_id`, else `user`."""
    return USER if USER in views.columns else "user"


def co_consumption(views: pd.DataFrame, top_n: int = TOP_N) -> pd.DataFrame:
    """Top `top_n` co-viewed items per content item by cosine similarity (see module doc).

    views: one row per view with a user column (`stitched_user_id` or `user`) and
    `content_id`. Returns content_id, recommended_content_id, rank (1 = best), score
    (cosine, 0..1], and co_viewers (users who viewed both). Items never co-viewed get no rows.
    """
    cols = ["content_id", "recommended_content_id", "rank", "score", "co_viewers"]
    pairs = views[[_user_col(views), "content_id"]].dropna().drop_duplicates()
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    users, user_idx = np.unique(pairs.iloc[:, 0].astype(str), return_inverse=True)
    items, item_idx = np.unique(pairs["content_id"].astype(str), return_inverse=True)
    m = sparse.csr_matrix(
        (np.ones(len(pairs), dtype=np.float64), (user_idx, item_idx)),
        shape=(len(users), len(items)),
    )
    co = (m.T @ m).tocoo()
    keep = co.row != co.col
    i, j, n_both = co.row[keep], co.col[keep], co.data[keep]
    viewers = np.asarray(m.sum(axis=0)).ravel()
    score = n_both / np.sqrt(viewers[i] * viewers[j])
    # Items are sorted ids, so integer order is id order: sort by item, score desc, id.
    order = np.lexsort((j, -score, i))
    i, j, n_both, score = i[order], j[order], n_both[order], score[order]
    starts = np.r_[0, np.flatnonzero(np.diff(i)) + 1]
    rank = np.arange(len(i)) - np.repeat(starts, np.diff(np.r_[starts, len(i)])) + 1
    top = rank <= top_n
    return pd.DataFrame(
        {
            "content_id": items[i[top]],
            "recommended_content_id": items[j[top]],
            "rank": rank[top].astype("int64"),
            "score": score[top],
            "co_viewers": n_both[top].astype("int64"),
        },
        columns=cols,
    )


def _holdout(views: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split views into (training views, per-user previous and held-out item).

    Views are ordered by user and event time; consecutive repeats of one item collapse to one.
    Users with fewer than two views left are not evaluated (their views stay in training).
    """
    user = _user_col(views)
    v = views[[user, "content_id", "event_time"]].dropna()
    v = v.sort_values([user, "event_time", "content_id"], kind="stable")
    repeat = v[user].eq(v[user].shift()) & v["content_id"].eq(v["content_id"].shift())
    v = v.loc[~repeat]
    pos_from_end = v.groupby(user).cumcount(ascending=False)
    held = v.loc[pos_from_end == 0, [user, "content_id"]].rename(columns={"content_id": "held"})
    prev = v.loc[pos_from_end == 1, [user, "content_id"]].rename(columns={"content_id": "prev"})
    cases = prev.merge(held, on=user)
    train = v.loc[~((pos_from_end == 0) & v[user].isin(cases[user]))]
    return train, cases


def evaluate_hit_rate(views: pd.DataFrame, k: int = TOP_N) -> dict[str, float]:
    """Hit rate@k of co-consumption recommendations vs a most-popular baseline (module doc).

    Returns hit_rate, baseline_hit_rate, users_evaluated (users with at least two distinct
    consecutive views).
    """
    train, cases = _holdout(views)
    if cases.empty:
        return {"hit_rate": float("nan"), "baseline_hit_rate": float("nan"), "users_evaluated": 0.0}
    recs = co_consumption(train, top_n=k)
    rec_pairs = set(zip(recs["content_id"], recs["recommended_content_id"], strict=True))
    prev, held = cases["prev"].astype(str), cases["held"].astype(str)
    hits = [(p, h) in rec_pairs for p, h in zip(prev, held, strict=True)]
    popularity = (
        train.drop_duplicates([_user_col(train), "content_id"])["content_id"]
        .astype(str)
        .value_counts()
    )
    ranked = sorted(popularity.items(), key=lambda t: (-t[1], t[0]))[: k + 1]
    top = [c for c, _ in ranked]
    base_hits = [h in [c for c in top if c != p][:k] for p, h in zip(prev, held, strict=True)]
    return {
        "hit_rate": float(np.mean(hits)),
        "baseline_hit_rate": float(np.mean(base_hits)),
        "users_evaluated": float(len(cases)),
    }


def _slot_profile(
    times: pd.Series, weights: pd.Series, dimension: str, days: pd.DatetimeIndex
) -> pd.DataFrame:
    """Per weekday/hour/month slot: weighted count, share, mean per exposed day, and lift.

    Exposure normalizes for the calendar: a weekday seen 5 times in the range has 5 days of
    exposure, an hour has every day, a month the days of it in the range. Lift = the slot's
    mean per day / the mean of that over slots with exposure (1 = average slot).
    """
    if dimension == "weekday":
        slot, cal, labels = times.dt.day_of_week, days.day_of_week, WEEKDAYS
    elif dimension == "hour":
        slot, cal, labels = times.dt.hour, None, tuple(str(h) for h in range(24))
    else:
        slot, cal, labels = times.dt.month - 1, days.month - 1, MONTHS
    slots = range(len(labels))
    if cal is None:
        exposure = pd.Series(float(len(days)), index=slots)
    else:
        exposure = pd.Series(np.asarray(cal)).value_counts().reindex(slots, fill_value=0)
    exposure = exposure.loc[exposure > 0].astype(float)
    counts = weights.groupby(slot.to_numpy()).sum().reindex(exposure.index, fill_value=0.0)
    rate = counts / exposure
    total, mean_rate = float(counts.sum()), float(rate.mean())
    return pd.DataFrame(
        {
            "value": [labels[i] for i in exposure.index],
            "count": counts.to_numpy(dtype=float),
            "share": (counts / total).to_numpy() if total else np.zeros(len(counts)),
            "rate": rate.to_numpy(dtype=float),
            "lift": (rate / mean_rate).to_numpy() if mean_rate else np.ones(len(rate)),
        }
    )


def _page_views(events: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Content page views with an `engaged` weight (0/1) and a note saying how it was set."""
    pv = events.loc[
        events["is_page_view"].fillna(False).astype(bool) & events["content_type"].notna()
    ]
    pv = pv.reset_index(drop=True)
    pv = pv.assign(event_time=pd.to_datetime(pv["event_time"]))
    if "time_on_page" in pv.columns:
        engaged = pv["time_on_page"].fillna(0).ge(ENGAGED_SECONDS).astype(float)
        note = f"engaged view = time on page >= {ENGAGED_SECONDS:g} s"
    else:
        engaged = pd.Series(1.0, index=pv.index)
        note = "time on page not given: every page view counts as engaged"
    return pv.assign(engaged=engaged), note


def _best_publish(pv: pd.DataFrame, content: pd.DataFrame | None, days, note: str) -> list[dict]:
    """Best publish weekday and hour per content type by engaged views.

    With `published_at` in `content`: mean engaged views per item published in the slot
    (lift vs the type's mean per item). Without it: view time is the proxy (engaged views per
    exposed day in the slot, lift vs the average slot), and the note says so.
    """
    rows = []
    published = None
    if content is not None and "published_at" in content.columns:
        published = content.set_index("content_id")["published_at"].dropna()
        published = pd.to_datetime(published[~published.index.duplicated()])
    for ctype, group in pv.groupby("content_type", sort=True):
        for dim in ("weekday", "hour"):
            if published is not None and group["content_id"].isin(published.index).any():
                per_item = group.groupby("content_id")["engaged"].sum()
                per_item = per_item[per_item.index.isin(published.index)]
                at = published.loc[per_item.index]
                slot = (
                    at.dt.day_of_week.map(WEEKDAYS.__getitem__)
                    if dim == "weekday"
                    else (at.dt.hour.astype(str))
                )
                means = per_item.groupby(slot.to_numpy()).mean()
                best = means.sort_values(ascending=False, kind="stable").index[0]
                metric, lift = float(means[best]), float(means[best] / per_item.mean())
                how = f"by publish time; mean engaged views per item; {note}"
            else:
                prof = _slot_profile(group["event_time"], group["engaged"], dim, days)
                top = prof.sort_values("rate", ascending=False, kind="stable").iloc[0]
                best, metric, lift = top["value"], float(top["rate"]), float(top["lift"])
                how = (
                    f"publish time unknown: view time used as proxy; engaged views per day; {note}"
                )
            rows.append(
                {"insight_type": f"best_publish_{dim}", "content_type": ctype, "dimension": dim,
                 "value": str(best), "metric": metric, "lift": lift, "note": how}
            )  # fmt: skip
    return rows


def _as_list(value: object) -> list:
    """Fighter names from a list, a JSON array string or a comma-separated string."""
    if isinstance(value, list | tuple | np.ndarray):
        return list(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return parsed
        return text.split(",")
    return []


def _topic_dimensions(pv: pd.DataFrame, content: pd.DataFrame | None) -> pd.DataFrame:
    """Long frame (view, dimension, value): content_type for every view, plus fighter,
    weight_class and topic from `content` when given (fighters from `fighters` or
    `fighters_json`: a list, a JSON array or a comma-separated string)."""
    parts = [
        pd.DataFrame({"view": pv.index, "dimension": "content_type", "value": pv["content_type"]})
    ]
    if content is None:
        return pd.concat(parts, ignore_index=True)
    meta = content.drop_duplicates("content_id").set_index("content_id")
    sources = (
        ("fighters", "fighter"),
        ("fighters_json", "fighter"),
        ("weight_class", "weight_class"),
        ("topic", "topic"),
    )
    for col, dim in sources:
        if col not in meta.columns:
            continue
        vals = pv["content_id"].map(meta[col])
        if dim == "fighter":
            vals = vals.map(_as_list).explode()
        vals = vals.dropna().astype(str).str.strip()
        vals = vals[vals.ne("")]
        parts.append(pd.DataFrame({"view": vals.index, "dimension": dim, "value": vals.to_numpy()}))
    return pd.concat(parts, ignore_index=True).drop_duplicates()


def _above_average(
    events: pd.DataFrame, pv: pd.DataFrame, content: pd.DataFrame | None
) -> list[dict]:
    """Formats/topics whose engagement beats the average page view (lift > 1, >= MIN_VIEWS).

    Engagement = mean time on page (seconds) when `time_on_page` is given, else interactions
    (likes, shares, comments, video completions on the item) per page view.
    """
    if "time_on_page" in pv.columns:
        value = pv["time_on_page"].astype(float)
        metric_note = "mean engaged seconds per view (views with known time only)"
    else:
        acts = events.loc[events["event_name"].isin(INTERACTIONS)].groupby("content_id").size()
        views = pv.groupby("content_id").size()
        per_view = (acts.reindex(views.index, fill_value=0) / views).rename("x")
        value = pv["content_id"].map(per_view).astype(float)
        metric_note = "time on page not given: interactions per view used instead"
    long = _topic_dimensions(pv, content)
    long["x"] = value.reindex(long["view"]).to_numpy()
    long = long.dropna(subset=["x"])
    average = float(value.dropna().mean()) if value.notna().any() else float("nan")
    if not average or np.isnan(average):
        return []
    stats = long.groupby(["dimension", "value"], sort=True)["x"].agg(["mean", "size"]).reset_index()
    stats = stats.loc[(stats["size"] >= MIN_VIEWS) & (stats["mean"] > average)]
    stats = stats.sort_values(["mean", "dimension", "value"], ascending=[False, True, True])
    return [
        {"insight_type": "above_average_engagement",
         "content_type": r.value if r.dimension == "content_type" else "all",
         "dimension": r.dimension, "value": str(r.value), "metric": float(r.mean),
         "lift": float(r.mean / average),
         "note": f"{metric_note}; {int(r.size)} views; average {average:.3g}"}
        for r in stats.itertuples(index=False)
    ]  # fmt: skip


def content_insights(events: pd.DataFrame, content: pd.DataFrame | None) -> pd.DataFrame:
    """Content optimization insights as rows of `INSIGHT_COLUMNS`.

    - best_publish_weekday / best_publish_hour per content type (see `_best_publish`);
    - above_average_engagement: content types, fighters, weight classes, topics with above
      average engagement (see `_above_average`);
    - seasonal_profile per content type and "all": weekday, hour and month; metric = share of
      the type's page views in the slot, lift = views per exposed day vs the average slot.
    Optional inputs: `time_on_page` (seconds) on page-view rows of `events`; `content` with
    content_id and any of published_at, fighters, weight_class, topic.
    """
    pv, note = _page_views(events)
    if pv.empty:
        return pd.DataFrame(columns=INSIGHT_COLUMNS)
    dates = pv["event_time"].dt.floor("D")
    days = pd.date_range(dates.min(), dates.max(), freq="D")
    rows = _best_publish(pv, content, days, note) + _above_average(events, pv, content)
    ones = pd.Series(1.0, index=pv.index)
    for ctype in ["all", *sorted(pv["content_type"].unique())]:
        mask = ones.index.notna() if ctype == "all" else pv["content_type"].eq(ctype).to_numpy()
        for dim in ("weekday", "hour", "month"):
            prof = _slot_profile(pv["event_time"][mask], ones[mask], dim, days)
            rows += [
                {"insight_type": "seasonal_profile", "content_type": ctype, "dimension": dim,
                 "value": r.value, "metric": float(r.share), "lift": float(r.lift),
                 "note": "share of page views; lift = views per exposed day vs average slot"}
                for r in prof.itertuples(index=False)
            ]  # fmt: skip
    return pd.DataFrame(rows, columns=INSIGHT_COLUMNS)
