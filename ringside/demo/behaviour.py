"""What people do on the site: visits, sessions, page views and the tracked actions.

One :class:`Simulator` walks the period day by day. For every person who visits on a
day it plays out their sessions page by page and hands each action to the
:class:`~ringside.demo.sink.Emitter`, in time order per device. Where a session comes
from is :mod:`ringside.demo.acquisition`, which page comes next and its view
:mod:`ringside.demo.pages`, the site's own pages (search, paywall, sign-up, account)
:mod:`ringside.demo.site_pages` and accounts :mod:`ringside.demo.accounts`.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from itertools import accumulate

from ringside.demo import vocab
from ringside.demo.accounts import ensure_account, login
from ringside.demo.acquisition import acquisition, campaigns_on
from ringside.demo.catalog import DAY_MS, MIN, Catalog, Content, DayPools, S, weekday
from ringside.demo.pages import Page, next_page, search_page, track_view
from ringside.demo.people import (
    CONSENT_GIVEN,
    WEEKDAY_FACTOR,
    Device,
    Person,
    uuid_like,
)
from ringside.demo.sink import Emitter
from ringside.demo.site_pages import on_site_page

HEARTBEAT_CAP_S = 120  # engaged seconds reported per page view at most (bounds volume)
CHURN_FADE_DAYS = 28  # visits fade out over this many days before a person leaves
# Relative number of visits starting in each local-time hour (lunch and evening peaks).
# fmt: off
_HOURLY = (10, 6, 4, 3, 3, 5, 12, 22, 30, 32, 33, 36,  # 00-11
           44, 42, 36, 34, 36, 40, 46, 52, 56, 52, 38, 22)  # 12-23
# fmt: on
_HOUR_CUM = list(accumulate(_HOURLY))
_SHARE = vocab.SHARE_NETWORKS


class Simulator:
    def __init__(
        self,
        rng: random.Random,
        catalog: Catalog,
        people: list[Person],
        emitter: Emitter,
        users: int,
    ) -> None:
        self.rng = rng
        self.cat = catalog
        self.waiting = people  # sorted by arrival day; moved to `alive` when they arrive
        self.next_arrival = 0
        self.alive: list[Person] = []
        self.em = emitter
        self.crawler_hits_per_day = max(1, users // 1000)
        self.orders = 0
        # per-day state
        self.day = 0
        self.pools: DayPools
        self.fight: Content | None = None  # tonight's fight event
        self.campaigns: list[dict[str, str]] = []

    # -- the day loop ---------------------------------------------------------------------

    def run_day(self, day: int) -> None:
        rng = self.rng
        self.day = day
        self.pools = self.cat.pools_for(day)
        self.fight = self.cat.event_on(day)
        self.campaigns = campaigns_on(day, self.pools)
        while (
            self.next_arrival < len(self.waiting)
            and self.waiting[self.next_arrival].arrival_day <= day
        ):
            self.alive.append(self.waiting[self.next_arrival])
            self.next_arrival += 1

        factor = WEEKDAY_FACTOR[weekday(day)]
        if self.fight is not None:
            fight_boost = 1.6
        elif self.cat.event_on(day - 1) is not None:
            fight_boost = 1.4
        else:
            fight_boost = 1.0
        keep: list[Person] = []
        for person in self.alive:
            first_day = day == person.arrival_day and not person.returning
            must = first_day or person.cancel_day == day
            if not must and (day >= person.churn_day or person.p < 0.0005):
                if person.cancel_day is not None and person.cancel_day > day:
                    keep.append(person)  # gone quiet, but will still come back to cancel
                continue
            keep.append(person)
            # Leaving is gradual: visits thin out over the weeks before the last one, the
            # behaviour a churn model should pick up (falling frequency, growing gaps).
            fade = min(1.0, (person.churn_day - day) / CHURN_FADE_DAYS)
            p = person.p * factor * (1.0 + (fight_boost - 1.0) * person.fan) * fade
            person.p *= person.decay
            if must or rng.random() < min(p, 0.97):
                self._visit_day(person, day, first_day)
            if person.cancel_day is not None and person.cancel_day <= day:
                person.cancel_day = day + 1  # no time left for the visit today: tomorrow
        self.alive = keep
        self._crawlers(day)

    def _visit_day(self, person: Person, day: int, first_day: bool) -> None:
        rng = self.rng
        day_start = day * DAY_MS
        hour = bisect_right(_HOUR_CUM, rng.random() * _HOUR_CUM[-1])
        # Start in local time, folded back into this UTC day.
        t = day_start + ((hour * 60 - person.tz_min) % 1440) * MIN + int(rng.random() * MIN)
        multi = person.multi + (0.3 if self.fight is not None else 0.0)
        sessions = 1
        while sessions < 4 and rng.random() < multi:
            sessions += 1
        devices = [d for d in person.devices if d.first_day <= day]
        dev = devices[0]
        utm_restart = False
        for k in range(sessions):
            if not utm_restart:
                dev = devices[0] if len(devices) == 1 or rng.random() < 0.7 else devices[-1]
                t = max(t, dev.busy_until + 31 * MIN)
            if t >= day_start + DAY_MS:
                break
            end = self._session(person, dev, t, first_day and k == 0, utm_restart)
            dev.busy_until = end
            # Sometimes back within minutes through a newsletter link on the same browser:
            # a new session only by the campaign rule, not by the timeout.
            utm_restart = not dev.is_app and rng.random() < 0.03
            gap_min = 2 + rng.random() * 12 if utm_restart else 32 + rng.random() ** 2 * 600
            t = end + int(gap_min * MIN)

    # -- one session ------------------------------------------------------------------------

    def _session(
        self, person: Person, dev: Device, t: int, first_visit: bool, utm_restart: bool
    ) -> int:
        """Play one session from ``t``; returns the time of its last event."""
        rng = self.rng
        em = self.em
        em.dev = dev
        em.user_id = person.user_id if dev.logged_in else None
        em.flush_ms = 0
        if rng.random() < 0.005:
            # Offline (plane, subway, flaky Wi-Fi): the queue is sent 1-2 days later.
            back = (t // DAY_MS + 1 + int(rng.random() * 2)) * DAY_MS
            em.flush_ms = back + int((0.5 + rng.random() * 20) * 3_600_000)

        campaign, referrer, landing = acquisition(
            rng,
            self.pools,
            self.day,
            self.fight,
            self.campaigns,
            person,
            dev,
            first_visit,
            utm_restart,
        )
        if dev.is_app:
            # App sessions carry the SDK's client session id on every event.
            ctx = dict(dev.base_context)
            ctx["sessionId"] = uuid_like(rng)
            if campaign:
                ctx["campaign"] = campaign
            em.ctx = ctx

        n_pages = 1
        if landing.path in ("/account", "/subscribe") or rng.random() >= (
            0.5 if first_visit else 0.3
        ):
            n_pages = min(25, 2 + int(rng.expovariate(1.0 / (3.5 if self.fight else 2.5))))
        login_pending = person.user_id is not None and not dev.logged_in and rng.random() < 0.5
        page = landing
        for i in range(30):
            track_view(rng, em, self.pools, page, t, referrer, campaign if i == 0 else None)
            if login_pending:
                # Signing in on a device the SDK did not know the user on yet.
                login_pending = False
                t += int((3 + rng.random() * 20) * S)
                login(em, person, t)
            t, forced = self._on_page(person, page, t, single=n_pages == 1)
            # A clicked search result is always opened; otherwise the visit may end here.
            if forced is None and i >= n_pages - 1:
                break
            referrer = vocab.SITE + page.path + page.search
            t += 500 + int(rng.expovariate(1 / 8.0) * S)
            if dev.is_app and rng.random() < 0.04:
                # App left open in the background: a gap the SDK's session id spans.
                t += int((31 + rng.random() * 25) * MIN)
            page = forced or next_page(rng, self.cat, self.pools, self.fight, page, t)
        return t

    # -- what happens on a page -------------------------------------------------------------

    def _on_page(self, person: Person, page: Page, t: int, single: bool) -> tuple[int, Page | None]:
        """Everything done on a page after it loads. Returns when the visitor leaves it and
        the page an action took them to (search results, a search hit, the paywall)."""
        if page.content is None:
            return on_site_page(self.rng, self.em, person, page, t, self.day)
        rng = self.rng
        c = page.content
        # Engaged (tab visible) seconds: short for bounces, longer for readers.
        if single:
            engaged = 2 + int(rng.expovariate(1 / 25.0))
        elif c.content_type == "article":
            engaged = 5 + int(rng.lognormvariate(3.4, 0.8))
        else:
            engaged = 3 + int(rng.lognormvariate(2.9, 0.8))
        leave = t + engaged * S
        actions: list[tuple[int, str, int]] = []  # (time, action, value)
        forced: Page | None = None
        if c.content_type == "video":
            start = t + int((1 + rng.random() * 5) * S)
            resume = int(c.duration * (0.1 + rng.random() * 0.5)) if rng.random() < 0.1 else 0
            actions.append((start, "play", resume))
            left = c.duration - resume
            if rng.random() < 0.45:
                actions.append((start + left * S, "complete", left))
                watched = left
            else:
                watched = int(left * (0.05 + rng.random() * 0.8))
            # Visible time: many switch tabs while the video keeps playing.
            engaged = (start - t) // S + min(watched, int(rng.expovariate(1 / 45.0)))
            leave = start + (watched + 1 + int(rng.random() * 20)) * S
        if not single:
            registered = person.user_id is not None
            if rng.random() < (0.06 if registered else 0.025):
                actions.append((t + int(rng.random() * engaged * S), "like", 0))
            if rng.random() < 0.015:
                actions.append((t + int(rng.random() * engaged * S), "share", 0))
            if rng.random() < (0.02 if registered else 0.008):
                actions.append((leave - int(rng.random() * 5 * S), "comment", 0))
            if (
                c.content_type == "fight_event"
                and 0 <= c.day - self.day <= 1
                and c.event not in person.ppv_bought
                and rng.random() < (0.06 if c.day == self.day else 0.02) * person.fan
            ):
                actions.append((leave - int(rng.random() * 10 * S), "ppv", 0))
            r = rng.random()
            paywall = (0.015 if person.plan == "free" else 0.0) * (1.5 if self.fight else 1.0)
            if r < 0.07:
                forced = search_page(rng, self.cat, self.pools, leave)
            elif r < 0.07 + paywall:
                forced = Page(None, "/subscribe")
            elif person.user_id is None and r < 0.1:
                forced = Page(None, "/signup")
        actions.sort()
        if not self.em.dev.is_app:
            self._heartbeats(person, c, t, min(engaged, HEARTBEAT_CAP_S), actions)
        else:
            for at, what, value in actions:
                self._action(person, c, at, what, value)
        end = max(leave, actions[-1][0]) if actions else leave
        return end, forced

    def _heartbeats(
        self, person: Person, c: Content, t: int, engaged: int, actions: list[tuple[int, str, int]]
    ) -> None:
        """A heartbeat per 10 s of visible time plus the final partial one, in time order
        with the page's other actions."""
        beats = [(t + k * 10 * S, 10) for k in range(1, engaged // 10 + 1)]
        if engaged % 10:
            beats.append((t + engaged * S, engaged % 10))
        a = 0
        props_id = c.content_id
        for at, seconds in beats:
            while a < len(actions) and actions[a][0] < at:
                self._action(person, c, *actions[a])
                a += 1
            self.em.track(at, "Page Heartbeat", {"content_id": props_id, "seconds": seconds})
        for action in actions[a:]:
            self._action(person, c, *action)

    def _action(self, person: Person, c: Content, at: int, what: str, value: int) -> None:
        em = self.em
        rng = self.rng
        if what == "play":
            em.track(at, "Video Playback Started", {"content_id": c.content_id, "position": value})
        elif what == "complete":
            em.track(
                at,
                "Video Content Completed",
                {"content_id": c.content_id, "watched_seconds": value},
            )
        elif what == "like":
            em.track(
                at, "Content Liked", {"content_type": c.content_type, "content_id": c.content_id}
            )
        elif what == "share":
            network = _SHARE[int(rng.random() * len(_SHARE))]
            em.track(
                at,
                "Content Shared",
                {"content_type": c.content_type, "content_id": c.content_id, "network": network},
            )
        elif what == "comment":
            # Commenting needs an account: some sign up for it, most give up.
            if person.user_id is None and rng.random() > 0.3:
                return
            at = ensure_account(rng, em, person, at)
            em.track(
                at, "Comment Posted", {"content_type": c.content_type, "content_id": c.content_id}
            )
        elif what == "ppv":
            at = ensure_account(rng, em, person, at)
            price = vocab.PPV_PRICES.get(person.currency, vocab.PPV_PRICES["USD"])
            currency = person.currency if person.currency in vocab.PPV_PRICES else "USD"
            self.orders += 1
            assert c.event is not None
            person.ppv_bought.append(c.event)
            em.track(
                at,
                "Order Completed",
                {
                    "order_id": f"ord_{self.orders:07d}",
                    "revenue": price,
                    "currency": currency,
                    "products": [
                        {
                            "product_id": c.content_id,
                            "sku": f"ppv-{c.number}",
                            "name": f"{c.title} (pay-per-view)",
                            "price": price,
                            "quantity": 1,
                            "category": "pay-per-view",
                        }
                    ],
                },
            )

    # -- crawlers ---------------------------------------------------------------------------

    def _crawlers(self, day: int) -> None:
        """Search-engine crawlers render pages and run analytics.js; each hit is a fresh
        device (no storage), so they show up as one-page visitors."""
        rng = self.rng
        em = self.em
        em.user_id = None
        em.flush_ms = 0
        for _ in range(self.crawler_hits_per_day):
            ua, prefix = vocab.BOT_AGENTS[int(rng.random() * len(vocab.BOT_AGENTS))]
            em.dev = Device(
                anonymous_id=uuid_like(rng),
                platform="web",
                base_context={
                    "ip": f"{prefix}{1 + int(rng.random() * 250)}",
                    "userAgent": ua,
                    "locale": "en-US",
                    "library": vocab.LIBRARIES["web"],
                    "consent": CONSENT_GIVEN,
                },
                skew_ms=0,
                offset_min=0,
                first_day=day,
            )
            ctype = "article" if rng.random() < 0.6 else "fighter"
            t = day * DAY_MS + int(rng.random() * DAY_MS)
            track_view(rng, em, self.pools, Page(self.pools.by_type[ctype].pick(rng)), t, "", None)
