"""The content catalog of the demo site and how popular each item is on a given day
(what goes into it: :mod:`ringside.demo.catalog_build`).

Times are integer milliseconds since the Unix epoch (UTC) and days are epoch-day numbers,
so the hot paths of the simulation never build ``datetime`` objects.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass, field

from ringside.demo import vocab

S = 1000  # ms per second
MIN = 60 * S
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
SATURDAY = 5  # date.weekday() of a Saturday


def weekday(day: int) -> int:
    """``date.weekday()`` of an epoch day (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


@dataclass(slots=True, eq=False)
class Content:
    content_id: str
    content_type: str  # article | video | fighter | fight_event
    title: str
    published_ms: int
    author: str | None
    fighters: list[int]  # indices into Catalog.fighters
    weight_class: str | None
    event: int | None  # index into Catalog.events (a fight event's own index)
    pop: float  # intrinsic popularity, multiplies the daily weight
    path: str = ""
    page_title: str = ""
    duration: int = 0  # videos: running time in seconds
    # fight events only
    day: int = 0  # the fight night (epoch day)
    number: int = 0


@dataclass(slots=True)
class Pool:
    """Items of one content type with cumulative sampling weights for one day."""

    items: list[Content]
    cum: list[float]

    def pick(self, rng: random.Random) -> Content:
        return self.items[bisect_right(self.cum, rng.random() * self.cum[-1])]


@dataclass(slots=True)
class DayPools:
    """Per-day sampling pools. ``by_type`` includes what is published later that day;
    ``settled`` only what was public when the day began, so it is safe at any time."""

    by_type: dict[str, Pool]
    settled: dict[str, Pool]
    trending: Content | None
    next_event: Content | None  # the next fight night on or after this day


@dataclass(slots=True)
class Catalog:
    fighters: list[Content] = field(default_factory=list)
    events: list[Content] = field(default_factory=list)
    articles: list[Content] = field(default_factory=list)
    videos: list[Content] = field(default_factory=list)
    # fighter index -> articles/videos about them, by publication time
    about_fighter: dict[int, list[Content]] = field(default_factory=dict)
    about_event: dict[int, list[Content]] = field(default_factory=dict)
    bursts: dict[int, Content] = field(default_factory=dict)  # day -> trending article

    def all_items(self) -> list[Content]:
        return self.fighters + self.events + self.articles + self.videos

    def fight_nights(self, first_day: int, last_day: int) -> list[int]:
        return [e.day for e in self.events if first_day <= e.day <= last_day]

    def event_on(self, day: int) -> Content | None:
        for e in self.events:
            if e.day == day:
                return e
        return None

    def coverage(self, event: Content) -> list[Content]:
        """Articles and videos about a fight event, by publication time."""
        return self.about_event.get(event.event if event.event is not None else -1, [])

    def fighter_name(self, idx: int) -> str:
        return self.fighters[idx].title

    # -- navigation ---------------------------------------------------------------

    def latest(self, items: list[Content], t: int, rng: random.Random) -> Content | None:
        """One of the newest few of ``items`` (sorted by publication) published by ``t``."""
        n = bisect_right([c.published_ms for c in items], t) if items else 0
        if n == 0:
            return None
        return items[n - 1 - int(rng.random() * min(n, 5))]

    def related(self, item: Content, t: int, rng: random.Random) -> Content | None:
        """A page a reader of ``item`` plausibly clicks next (an in-page link)."""
        r = rng.random()
        if item.content_type == "fighter":
            return self.latest(self.about_fighter.get(item.fighters[0], []), t, rng)
        if item.content_type == "fight_event":
            if r < 0.6 and item.fighters:
                f = self.fighters[item.fighters[int(rng.random() * len(item.fighters))]]
                return f if f.published_ms <= t else None
            return self.latest(self.coverage(item), t, rng)
        if r < 0.45 and item.fighters:
            f = self.fighters[item.fighters[int(rng.random() * len(item.fighters))]]
            return f if f.published_ms <= t else None
        if r < 0.65 and item.event is not None:
            e = self.events[item.event]
            return e if e.published_ms <= t else None
        if item.fighters:
            return self.latest(self.about_fighter.get(item.fighters[0], []), t, rng)
        return None

    def search(self, pools: DayPools, t: int, rng: random.Random) -> tuple[str, list[Content]]:
        """A search query a visitor types and its results, best first."""
        r = rng.random()
        if r < 0.6:
            f = pools.by_type["fighter"].pick(rng)
            if f.published_ms > t:
                f = pools.settled["fighter"].pick(rng)
            name = f.title
            query = name.lower() if rng.random() < 0.6 else name.split()[-1].lower()
            about = self.about_fighter.get(f.fighters[0], [])
            n = bisect_right([c.published_ms for c in about], t)
            return query, [f, *reversed(about[max(0, n - 29) : n])]
        if r < 0.75:
            e = pools.by_type["fight_event"].pick(rng)
            if e.published_ms > t:
                e = pools.settled["fight_event"].pick(rng)
            query = f"{vocab.PROMOTION.lower()} {e.number}" if rng.random() < 0.6 else e.title
            about = self.coverage(e)
            n = bisect_right([c.published_ms for c in about], t)
            return query, [e, *reversed(about[max(0, n - 29) : n])]
        if r < 0.9:
            query, wc = vocab.SEARCH_GENERIC[int(rng.random() * len(vocab.SEARCH_GENERIC))]
            pool = pools.by_type["article"]
            results: list[Content] = []
            for _ in range(4 + int(rng.random() * 16)):
                a = pool.pick(rng)
                if a.published_ms <= t and a not in results and wc in (None, a.weight_class):
                    results.append(a)
            return query, results
        return vocab.SEARCH_TYPOS[int(rng.random() * len(vocab.SEARCH_TYPOS))], []

    # -- daily popularity -----------------------------------------------------------

    def pools_for(self, day: int) -> DayPools:
        """Sampling weights of everything published by the end of ``day``."""
        day_end = (day + 1) * DAY_MS
        mid = day * DAY_MS + DAY_MS // 2
        boost: dict[int, float] = {}  # fighters on a card around this day
        next_event: Content | None = None
        ev_weights: list[float] = []
        for e in self.events:
            to_go = e.day - day
            if next_event is None and to_go >= 0 and e.published_ms < day_end:
                next_event = e
            if to_go == 0:
                w = 40.0
            elif to_go == -1:
                w = 8.0
            elif 0 < to_go <= 14:
                w = 1.0 + (14 - to_go) * 0.4
            elif -7 <= to_go < 0:
                w = 1.0
            else:
                w = 0.15
            ev_weights.append(w * e.pop)
            if -2 <= to_go <= 7:
                factor = 12.0 if to_go in (0, -1) else 4.0
                for i, f in enumerate(e.fighters):
                    # The main event (first pair) draws the most interest.
                    boost[f] = max(boost.get(f, 1.0), factor * (2.0 if i < 2 else 1.0))

        def pool(items: list[Content], weights: list[float], before: int = day_end) -> Pool:
            chosen: list[Content] = []
            cum: list[float] = []
            total = 0.0
            for c, w in zip(items, weights, strict=True):
                if c.published_ms < before and w > 0:
                    total += w
                    chosen.append(c)
                    cum.append(total)
            return Pool(chosen, cum)

        def age_days(c: Content) -> float:
            return max(0.0, (mid - c.published_ms) / DAY_MS)

        fight_today = next_event is not None and next_event.day == day
        art_w = []
        for a in self.articles:
            w = a.pop * (0.02 + 1.0 / (1.0 + age_days(a)) ** 1.7)
            if fight_today and a.event is not None and self.events[a.event].day == day:
                w *= 2.0
            art_w.append(w)
        trending = self.bursts.get(day)
        if trending is not None:
            # A resurfaced older article: ~12% of the day's article views.
            art_w[self.articles.index(trending)] = 0.14 * sum(art_w)
        vid_w = [v.pop * (0.05 + 1.0 / (1.0 + age_days(v) / 2.0) ** 1.4) for v in self.videos]
        fig_w = [f.pop * boost.get(i, 1.0) for i, f in enumerate(self.fighters)]

        lists = {
            "article": (self.articles, art_w),
            "video": (self.videos, vid_w),
            "fighter": (self.fighters, fig_w),
            "fight_event": (self.events, ev_weights),
        }
        by_type = {ctype: pool(items, w) for ctype, (items, w) in lists.items()}
        settled = {ctype: pool(items, w, day * DAY_MS) for ctype, (items, w) in lists.items()}
        return DayPools(by_type, settled, trending, next_event)
