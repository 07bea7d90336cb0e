"""Content insights: when to publish each content type, which formats and topics hold
attention above average, and the seasonal profile of views.

Pure functions over DataFrames (no I/O). The lead wires them into the
`ml_content_insights` asset.

Choices:
- Insights are descriptive: slot profiles are normalized by calendar exposure (how many
  Saturdays, days of a month... the data covers), and every row's note says which proxy it
  used when publish time or time on page is not given.
- Inputs are aggregates, never the views one by one: content views per type, day and hour
  and per item (`ContentViews`), which the warehouse computes (`ml_assets.inputs`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ENGAGED_SECONDS = 10.0  # a page view with at least this time on page is an engaged view
MIN_VIEWS = 30  # fewer views than this in a group: no format/topic insight (noise)
INTERACTIONS = ("Content Liked", "Content Shared", "Comment Posted", "Video Content Completed")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
INSIGHT_COLUMNS = ["insight_type", "content_type", "dimension", "value", "metric", "lift", "note"]


@dataclass(frozen=True)
class ContentViews:
    """Content page views (page views with a content type), aggregated.

    `slots`: one row per content_type, `event_date` (UTC day) and `event_hour` (UTC):
    `views` and `engaged_views` (time on page >= ENGAGED_SECONDS; unknown time counts as
    0). `items`: one row per content_type and content_id (NULL ids too): `views`,
    `engaged_views`, `time_on_page_sum` and `time_on_page_known` (the sum of the known
    times on page, seconds, and how many views have one). Without time on page (no
    `time_on_page_sum` column in `items`) every view counts as engaged and engagement is
    measured by `interactions`: per content_id, the `INTERACTIONS` events on the item.
    """

    slots: pd.DataFrame
    items: pd.DataFrame
    interactions: pd.Series | None = None

    @property
    def timed(self) -> bool:
        return "time_on_page_sum" in self.items.columns


def _days(values: pd.Series) -> pd.Series:
    """UTC days (dates, naive or aware timestamps) as naive midnights."""
    return pd.to_datetime(values, utc=True).dt.tz_localize(None).dt.normalize()


def _slot_profile(
    slots: pd.DataFrame, weights: pd.Series, dimension: str, days: pd.DatetimeIndex
) -> pd.DataFrame:
    """Per weekday/hour/month slot: weighted count, share, mean per exposed day, and lift.

    `slots`: rows with `event_date` and `event_hour`, weighted by `weights` (views).
    Exposure normalizes for the calendar: a weekday seen 5 times in the range has 5 days of
    exposure, an hour has every day, a month the days of it in the range. Lift = the slot's
    mean per day / the mean of that over slots with exposure (1 = average slot).
    """
    if dimension == "weekday":
        slot, cal, labels = slots["event_date"].dt.day_of_week, days.day_of_week, WEEKDAYS
    elif dimension == "hour":
        slot, cal, labels = slots["event_hour"], None, tuple(str(h) for h in range(24))
    else:
        slot, cal, labels = slots["event_date"].dt.month - 1, days.month - 1, MONTHS
    positions = range(len(labels))
    if cal is None:
        exposure = pd.Series(float(len(days)), index=positions)
    else:
        exposure = pd.Series(np.asarray(cal)).value_counts().reindex(positions, fill_value=0)
    exposure = exposure.loc[exposure > 0].astype(float)
    counts = (
        weights.astype(float).groupby(slot.to_numpy()).sum().reindex(exposure.index, fill_value=0.0)
    )
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


def _prepared(views: ContentViews) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Slots and items with an `engaged` weight (engaged views; every view without time
    on page) and a note saying how it was set."""
    slots = views.slots.loc[views.slots["content_type"].notna()].reset_index(drop=True)
    items = views.items.loc[views.items["content_type"].notna()].reset_index(drop=True)
    slots = slots.assign(
        event_date=_days(slots["event_date"]), event_hour=pd.to_numeric(slots["event_hour"])
    )
    if views.timed:
        note = f"engaged view = time on page >= {ENGAGED_SECONDS:g} s"
        return (
            slots.assign(engaged=slots["engaged_views"]),
            items.assign(engaged=items["engaged_views"]),
            note,
        )
    note = "time on page not given: every page view counts as engaged"
    return slots.assign(engaged=slots["views"]), items.assign(engaged=items["views"]), note


def _best_publish(
    slots: pd.DataFrame,
    items: pd.DataFrame,
    content: pd.DataFrame | None,
    days: pd.DatetimeIndex,
    note: str,
) -> list[dict]:
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
    for ctype, group in slots.groupby("content_type", sort=True):
        typed = items.loc[items["content_type"] == ctype]
        for dim in ("weekday", "hour"):
            if published is not None and typed["content_id"].isin(published.index).any():
                per_item = typed.groupby("content_id")["engaged"].sum().astype(float)
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
                prof = _slot_profile(group, group["engaged"], dim, days)
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


def _topic_dimensions(items: pd.DataFrame, content: pd.DataFrame | None) -> pd.DataFrame:
    """Long frame (item row, dimension, value), once each: content_type for every row,
    plus fighter, weight_class and topic from `content` when given (fighters from
    `fighters` or `fighters_json`: a list, a JSON array or a comma-separated string)."""
    parts = [
        pd.DataFrame(
            {"row": items.index, "dimension": "content_type", "value": items["content_type"]}
        )
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
        vals = items["content_id"].map(meta[col])
        if dim == "fighter":
            vals = vals.map(_as_list).explode()
        vals = vals.dropna().astype(str).str.strip()
        vals = vals[vals.ne("")]
        parts.append(pd.DataFrame({"row": vals.index, "dimension": dim, "value": vals.to_numpy()}))
    return pd.concat(parts, ignore_index=True).drop_duplicates()


def _engagement_sums(views: ContentViews, items: pd.DataFrame) -> tuple[pd.Series, pd.Series, str]:
    """Per item row: the sum of the per-view engagement values and how many views have
    one; and what the value is. With time on page: seconds, over views with a known time.
    Without: the item's interactions per page view (any type), for each of its views."""
    if views.timed:
        known = pd.to_numeric(items["time_on_page_known"]).astype(float)
        total = pd.to_numeric(items["time_on_page_sum"]).astype(float).where(known > 0, 0.0)
        return total, known, "mean engaged seconds per view (views with known time only)"
    interactions = views.interactions
    if interactions is None:
        interactions = pd.Series(dtype=float)
    item_views = items.groupby("content_id")["views"].sum()
    per_view = interactions.reindex(item_views.index, fill_value=0) / item_views
    viewed = items["content_id"].notna().to_numpy()
    count = pd.to_numeric(items["views"]).astype(float).where(viewed, 0.0)
    total = (count * items["content_id"].map(per_view).astype(float)).fillna(0.0)
    return total, count, "time on page not given: interactions per view used instead"


def _above_average(
    views: ContentViews, items: pd.DataFrame, content: pd.DataFrame | None
) -> list[dict]:
    """Formats/topics whose engagement beats the average page view (lift > 1, >= MIN_VIEWS).

    Engagement = mean time on page (seconds) when time on page is given, else interactions
    (likes, shares, comments, video completions on the item) per page view.
    """
    total, count, metric_note = _engagement_sums(views, items)
    long = _topic_dimensions(items, content)
    long["total"] = total.reindex(long["row"]).to_numpy()
    long["count"] = count.reindex(long["row"]).to_numpy()
    average = float(total.sum() / count.sum()) if count.sum() else float("nan")
    if not average or np.isnan(average):
        return []
    stats = long.groupby(["dimension", "value"], sort=True)[["total", "count"]].sum().reset_index()
    stats = stats.loc[stats["count"] > 0]
    stats = stats.assign(mean=stats["total"] / stats["count"], size=stats["count"])
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


def content_insights(views: ContentViews, content: pd.DataFrame | None) -> pd.DataFrame:
    """Content optimization insights as rows of `INSIGHT_COLUMNS`.

    - best_publish_weekday / best_publish_hour per content type (see `_best_publish`);
    - above_average_engagement: content types, fighters, weight classes, topics with above
      average engagement (see `_above_average`);
    - seasonal_profile per content type and "all": weekday, hour and month; metric = share of
      the type's page views in the slot, lift = views per exposed day vs the average slot.
    `views`: see `ContentViews`; `content` (optional) with content_id and any of
    published_at, fighters, weight_class, topic.
    """
    slots, items, note = _prepared(views)
    if slots.empty or not slots["views"].sum():
        return pd.DataFrame(columns=INSIGHT_COLUMNS)
    days = pd.date_range(slots["event_date"].min(), slots["event_date"].max(), freq="D")
    rows = _best_publish(slots, items, content, days, note) + _above_average(views, items, content)
    for ctype in ["all", *sorted(slots["content_type"].unique())]:
        typed = slots if ctype == "all" else slots.loc[slots["content_type"].eq(ctype)]
        for dim in ("weekday", "hour", "month"):
            prof = _slot_profile(typed, typed["views"], dim, days)
            rows += [
                {"insight_type": "seasonal_profile", "content_type": ctype, "dimension": dim,
                 "value": r.value, "metric": float(r.share), "lift": float(r.lift),
                 "note": "share of page views; lift = views per exposed day vs average slot"}
                for r in prof.itertuples(index=False)
            ]  # fmt: skip
    return pd.DataFrame(rows, columns=INSIGHT_COLUMNS)
