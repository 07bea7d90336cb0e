"""The content catalog of the demo site and how popular each item is on a given day.

Times are integer milliseconds since the Unix epoch (UTC) and days are epoch-day numbers,
so the hot paths of the simulation never build ``datetime`` objects.
"""

from __future__ import annotations

import math
import random
import re
from bisect import bisect_right
from dataclasses import dataclass, field

from ringside.demo import vocab

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
SATURDAY = 5  # date.weekday() of a Saturday


def weekday(day: int) -> int:
    """``date.weekday()`` of an epoch day (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


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


# -- building the catalog -----------------------------------------------------------------


def _at(rng: random.Random, day: int, lo_hour: float, hi_hour: float) -> int:
    return day * DAY_MS + int((lo_hour + rng.random() * (hi_hour - lo_hour)) * HOUR_MS)


def build_catalog(seed: int, first_day: int, days: int) -> Catalog:
    """The catalog as of the end of the period; its own RNG stream so it does not depend
    on the population size."""
    rng = random.Random(f"ringside-demo-catalog:{seed}")
    last_day = first_day + days - 1
    cat = Catalog()
    end_ms = (last_day + 1) * DAY_MS

    # Fighters: mostly long-standing profiles, a few signed during the period.
    names: set[str] = set()
    by_class: dict[str, list[int]] = {wc: [] for wc in vocab.WEIGHT_CLASSES}
    for i in range(200):
        wc = vocab.WEIGHT_CLASSES[int(rng.random() * len(vocab.WEIGHT_CLASSES))]
        first_names = vocab.WOMEN_FIRST if wc.startswith("Women") else vocab.MEN_FIRST
        while True:
            name = f"{rng.choice(first_names)} {rng.choice(vocab.LAST)}"
            if name not in names:
                names.add(name)
                break
        if rng.random() < 0.05:
            published = _at(rng, first_day + int(rng.random() * days), 9, 20)
        else:
            published = _at(rng, first_day - 30 - int(rng.random() * 900), 9, 20)
        cat.fighters.append(
            Content(
                content_id=f"fighter:{i + 1}",
                content_type="fighter",
                title=name,
                published_ms=published,
                author=None,
                fighters=[i],
                weight_class=wc,
                event=None,
                pop=1.0 / (i + 3) ** 0.6,
            )
        )
        by_class[wc].append(i)

    def pair(t: int, exclude: list[int]) -> list[int]:
        classes = [wc for wc in vocab.WEIGHT_CLASSES if len(by_class[wc]) >= 4]
        wc = rng.choice(classes)
        pool = [f for f in by_class[wc] if f not in exclude and cat.fighters[f].published_ms <= t]
        return rng.sample(pool, 2) if len(pool) >= 2 else pair(t, exclude)

    # Fight nights on Saturdays, ~2 weeks apart: some before the period (their coverage is
    # the archive), the ones in it, and a few announced ones after it.
    first_sat = first_day + 1 + (SATURDAY - weekday(first_day + 1)) % 7
    nights = [first_sat - 14 * k for k in range(8, 0, -1)]
    d = first_sat
    while d <= last_day + 42:
        nights.append(d)
        d += 21 if rng.random() < 0.2 else 14
    veterans = [i for i, f in enumerate(cat.fighters) if f.published_ms < first_day * DAY_MS]
    for n, night in enumerate(nights):
        announced = _at(rng, night - 28 - int(rng.random() * 14), 14, 22)
        if announced >= end_ms:  # not announced yet when the period ends
            break
        card: list[int] = []
        for _ in range(5):
            card += pair(announced, card)
        number = 300 + n + 1
        a, b = cat.fighters[card[0]].title, cat.fighters[card[1]].title
        cat.events.append(
            Content(
                content_id=f"fight_event:{n + 1}",
                content_type="fight_event",
                title=f"{vocab.PROMOTION} {number}: {a.split()[-1]} vs. {b.split()[-1]}",
                published_ms=announced,
                author=None,
                fighters=card,
                weight_class=cat.fighters[card[0]].weight_class,
                event=len(cat.events),
                pop=0.6 + rng.random(),
                day=night,
                number=number,
            )
        )

    def nearest_event(day: int) -> int:
        return min(range(len(cat.events)), key=lambda i: abs(cat.events[i].day - day))

    def story(day: int, kind: str) -> Content:
        """An article or video published on ``day``, about the nearest fight night."""
        ei = nearest_event(day)
        ev = cat.events[ei]
        to_go = ev.day - day
        bout = 2 * int(rng.random() * 2) if rng.random() < 0.5 else 0
        fa, fb = ev.fighters[bout], ev.fighters[bout + 1]
        if to_go > 21 or to_go < -10 or ev.published_ms > day * DAY_MS:
            # Between fight weeks: a general story about anyone.
            fa, fb = rng.sample(veterans, 2)
            templates, videos, ev_ref = vocab.ARTICLES_GENERAL, vocab.VIDEOS_GENERAL, None
        elif to_go > 1:
            templates, videos, ev_ref = vocab.ARTICLES_PREVIEW, vocab.VIDEOS_BEFORE, ei
        elif to_go == 1:
            templates, videos, ev_ref = vocab.ARTICLES_FIGHT_EVE, vocab.VIDEOS_BEFORE, ei
        elif to_go == 0:
            templates, videos, ev_ref = vocab.ARTICLES_RESULT, vocab.VIDEOS_AFTER, ei
        else:
            templates, videos, ev_ref = vocab.ARTICLES_AFTER, vocab.VIDEOS_AFTER, ei
        wc = cat.fighters[fa].weight_class or ""
        fields = {
            "a": cat.fighters[fa].title,
            "b": cat.fighters[fb].title,
            "ev": ev.title.split(":")[0],
            "wc": wc,
            "wcl": wc.lower().replace("women's ", ""),
            "promo": vocab.PROMOTION,
            "n": 1 + int(rng.random() * 4),
        }
        # Results go up during the night; everything else in (European/US) office hours.
        published = _at(rng, day, 21, 23.9) if to_go == 0 else _at(rng, day, 8, 21)
        if kind == "video":
            tpl, lo, hi = rng.choice(videos)
            title = tpl.format(**fields)
            duration = lo + int(rng.random() * (hi - lo))
        else:
            title = rng.choice(templates).format(**fields)
            duration = 0
        return Content(
            content_id="",
            content_type=kind,
            title=title,
            published_ms=published,
            author=rng.choice(vocab.AUTHORS) if kind == "article" else None,
            fighters=[fa, fb],
            weight_class=wc,
            event=ev_ref,
            pop=math.exp(rng.gauss(0.0, 0.8)),
            duration=duration,
        )

    fight_days = {e.day for e in cat.events}
    for day in range(first_day - 120, last_day + 1):
        archive = day < first_day
        near_fight = sum(1 for k in (-1, 0, 1) if day + k in fight_days)
        n_articles = (1 if archive else 3 + int(rng.random() * 3)) + 2 * near_fight
        n_videos = int(rng.random() + (0.3 if archive else 0.6)) + near_fight
        for _ in range(n_articles):
            cat.articles.append(story(day, "article"))
        for _ in range(n_videos):
            cat.videos.append(story(day, "video"))
    for items, first_num in ((cat.articles, 1001), (cat.videos, 301)):
        items.sort(key=lambda c: c.published_ms)
        for k, c in enumerate(items):
            c.content_id = f"{c.content_type}:{first_num + k}"

    section = {"article": "news", "video": "videos", "fighter": "fighters", "fight_event": "events"}
    for c in cat.all_items():
        num = c.content_id.split(":")[1]
        c.path = f"/{section[c.content_type]}/{num}-{_slug(c.title)}"
        c.page_title = f"{c.title} | Ringside MMA"
        for f in c.fighters if c.content_type in ("article", "video") else ():
            cat.about_fighter.setdefault(f, []).append(c)
        if c.content_type in ("article", "video") and c.event is not None:
            cat.about_event.setdefault(c.event, []).append(c)
    for lst in (*cat.about_fighter.values(), *cat.about_event.values()):
        lst.sort(key=lambda c: c.published_ms)

    # Trending: every ~2 weeks an article at least ten days old resurfaces on social media.
    for k in range(days // 14):
        day = first_day + 7 + k * 14 + int(rng.random() * 7)
        old = [
            a
            for a in cat.articles
            if a.published_ms < (day - 10) * DAY_MS and a not in cat.bursts.values()
        ]
        if day <= last_day and old:
            cat.bursts[day] = rng.choice(old)
    return cat
