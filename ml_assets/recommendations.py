"""Content recommendations from co-consumption and their offline evaluation.

Pure functions over DataFrames (no I/O). The lead wires them into the
`ml_content_recommendations` asset; the content insights are ``ml_assets.content_insights``.

Choices:
- Item-to-item similarity is the **cosine** of binary user-item view vectors:
  score(i, j) = users who viewed both / sqrt(users who viewed i * users who viewed j).
  Repeat views by one user count once. Ties are broken by content id, so output is stable.
- Evaluation: each user's last view (by event time, after collapsing consecutive repeats of the
  same item) is held out; recommendations are built on all remaining views; a hit is the
  held-out item among the top-k recommendations of the user's previous item. The baseline
  recommends the k items with most distinct viewers in the training views (the previous item
  left out, as recommendations never include the item itself).
- Inputs are aggregates, never the views one by one: co-viewing counts per pair of items
  (`CO_VIEWING_COLUMNS`) and held-out cases per pair of items (`CASE_COLUMNS`), which the
  warehouse computes (`ml_assets.inputs`). `co_consumption` and `evaluate_hit_rate` also
  take a frame of views and count it here, for small frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

TOP_N = 10
USER = "stitched_user_id"
RECOMMENDATION_COLUMNS = ["content_id", "recommended_content_id", "rank", "score", "co_viewers"]
# Users who viewed both items, per ordered pair; the diagonal (other_id = content_id) holds
# each item's viewers. Pairs never co-viewed may be absent (or 0).
CO_VIEWING_COLUMNS = ["content_id", "other_id", "co_viewers"]
# Evaluated users per (previous item, held-out item) pair.
CASE_COLUMNS = ["prev_id", "held_id", "users"]


def _user_col(views: pd.DataFrame) -> str:
    """The user column of a views frame: `stitched_user_id`, else `user`."""
    return USER if USER in views.columns else "user"


def co_viewing_counts(views: pd.DataFrame) -> pd.DataFrame:
    """`CO_VIEWING_COLUMNS` from a frame of views (a user column, `stitched_user_id` or
    `user`, and `content_id`; one row per view or per user and item): every co-viewed
    pair and the diagonal."""
    pairs = views[[_user_col(views), "content_id"]].dropna().drop_duplicates()
    if pairs.empty:
        return pd.DataFrame(columns=CO_VIEWING_COLUMNS)
    users, user_idx = np.unique(pairs.iloc[:, 0].astype(str), return_inverse=True)
    items, item_idx = np.unique(pairs["content_id"].astype(str), return_inverse=True)
    m = sparse.csr_matrix(
        (np.ones(len(pairs), dtype=np.int64), (user_idx, item_idx)),
        shape=(len(users), len(items)),
    )
    co = (m.T @ m).tocoo()
    return pd.DataFrame(
        {"content_id": items[co.row], "other_id": items[co.col], "co_viewers": co.data},
        columns=CO_VIEWING_COLUMNS,
    )


def similar_items(co_viewing: pd.DataFrame, top_n: int = TOP_N) -> pd.DataFrame:
    """Top `top_n` co-viewed items per content item by cosine similarity (see module doc),
    from `CO_VIEWING_COLUMNS` counts (every item's viewers on the diagonal).

    Returns content_id, recommended_content_id, rank (1 = best), score (cosine, 0..1],
    and co_viewers (users who viewed both). Items never co-viewed get no rows.
    """
    co = co_viewing.loc[pd.to_numeric(co_viewing["co_viewers"]) > 0]
    item, other = co["content_id"].astype(str), co["other_id"].astype(str)
    count = co["co_viewers"].to_numpy(dtype=np.float64)
    diagonal = (item == other).to_numpy()
    viewers = pd.Series(count[diagonal], index=item[diagonal].to_numpy())
    if diagonal.all():
        return pd.DataFrame(columns=RECOMMENDATION_COLUMNS)
    n_both = count[~diagonal]
    i, j = item[~diagonal].to_numpy(), other[~diagonal].to_numpy()
    # As co_consumption always computed it: float64, the product before the square root.
    score = n_both / np.sqrt(viewers.reindex(i).to_numpy() * viewers.reindex(j).to_numpy())
    ranked = pd.DataFrame(
        {"content_id": i, "recommended_content_id": j, "score": score, "co_viewers": n_both}
    ).sort_values(
        ["content_id", "score", "recommended_content_id"],
        ascending=[True, False, True],
        kind="stable",
    )
    ranked["rank"] = ranked.groupby("content_id", sort=False).cumcount() + 1
    top = ranked.loc[ranked["rank"] <= top_n].reset_index(drop=True)
    return top.astype({"rank": "int64", "co_viewers": "int64"})[RECOMMENDATION_COLUMNS]


def co_consumption(views: pd.DataFrame, top_n: int = TOP_N) -> pd.DataFrame:
    """`similar_items` of a frame of views (see `co_viewing_counts`)."""
    return similar_items(co_viewing_counts(views), top_n)


def _holdout(views: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split views into (training views, per-user previous and held-out item).

    Views are ordered by user and event time; consecutive repeats of one item collapse to one.
    Users with fewer than two views left are not evaluated (their views stay in training).
    `ml_assets.inputs` does the same in SQL (`COLLAPSED_VIEWS`).
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
    """Hit rate@k of co-consumption recommendations vs a most-popular baseline (module doc),
    from a frame of views with `event_time` (see `hit_rates`)."""
    train, cases = _holdout(views)
    counts = cases.groupby(["prev", "held"]).size().reset_index(name="users")
    counts.columns = CASE_COLUMNS
    return hit_rates(co_viewing_counts(train), counts, k)


def hit_rates(training: pd.DataFrame, cases: pd.DataFrame, k: int = TOP_N) -> dict[str, float]:
    """Hit rate@k of co-consumption recommendations vs a most-popular baseline (module doc).

    training: `CO_VIEWING_COLUMNS` of the training views (the held-out views left out);
    cases: `CASE_COLUMNS`. Returns hit_rate, baseline_hit_rate, users_evaluated (users
    with at least two distinct consecutive views).
    """
    users = pd.to_numeric(cases["users"]).to_numpy(dtype=np.int64)
    if not users.sum():
        return {"hit_rate": float("nan"), "baseline_hit_rate": float("nan"), "users_evaluated": 0.0}
    recs = similar_items(training, top_n=k)
    rec_pairs = set(zip(recs["content_id"], recs["recommended_content_id"], strict=True))
    prev, held = cases["prev_id"].astype(str), cases["held_id"].astype(str)
    hits = np.array([(p, h) in rec_pairs for p, h in zip(prev, held, strict=True)])
    item, other = training["content_id"].astype(str), training["other_id"].astype(str)
    count = pd.to_numeric(training["co_viewers"])
    viewers = count.loc[(item == other) & (count > 0)]
    popularity = zip(item.loc[viewers.index], viewers, strict=True)
    ranked = sorted(popularity, key=lambda t: (-t[1], t[0]))[: k + 1]
    top = [c for c, _ in ranked]
    base_hits = np.array(
        [h in [c for c in top if c != p][:k] for p, h in zip(prev, held, strict=True)]
    )
    total = int(users.sum())
    return {
        "hit_rate": float(users[hits].sum() / total),
        "baseline_hit_rate": float(users[base_hits].sum() / total),
        "users_evaluated": float(total),
    }
