"""Building the demo site's content catalog: the fighters, the fight nights (past, in the
period and announced), the articles and videos about them, their pages and the old
articles that resurface. Deterministic per seed, on its own random stream; what the
catalog holds and how popular an item is on a day is :mod:`ringside.demo.catalog`.
"""

from __future__ import annotations

import math
import random
import re

from ringside.demo import vocab
from ringside.demo.catalog import DAY_MS, HOUR_MS, SATURDAY, Catalog, Content, weekday


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


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
