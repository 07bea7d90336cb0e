"""What visitors do on the site's own pages: search (and click a result), the paywall
with its experiment, signing up, and cancelling a subscription from the account page."""

from __future__ import annotations

import random

from ringside.demo import vocab
from ringside.demo.accounts import ensure_account, signup, traits
from ringside.demo.catalog import S
from ringside.demo.pages import Page
from ringside.demo.people import Person
from ringside.demo.sink import Emitter

EXPERIMENT = "paywall_v2"
CONVERSION = {"control": 0.09, "treatment": 0.126}  # treatment: +40% relative


def on_site_page(
    rng: random.Random, em: Emitter, person: Person, page: Page, t: int, day: int
) -> tuple[int, Page | None]:
    """Home, listings, search, paywall, sign-up and account pages, on ``day``. Returns
    when the visitor leaves the page and the page an action took them to (a search hit)."""
    t += int((1 + rng.random() * 3) * S)
    if page.path == "/search":
        em.track(t, "Products Searched", {"query": page.query, "results_count": len(page.results)})
        if page.results and rng.random() < 0.75:
            position = min(len(page.results), 1 + int(rng.expovariate(1 / 1.5)))
            hit = page.results[position - 1]
            t += int((2 + rng.random() * 12) * S)
            em.track(
                t,
                "Search Result Clicked",
                {
                    "query": page.query,
                    "position": position,
                    "content_type": hit.content_type,
                    "content_id": hit.content_id,
                },
            )
            return t, Page(hit)
        return t + int(rng.random() * 15 * S), None
    if page.path == "/subscribe":
        if person.plan != "free":
            return t + int(rng.random() * 10 * S), None
        em.track(t, "Experiment Viewed", {"experiment_id": EXPERIMENT, "variant": person.variant})
        if rng.random() >= CONVERSION[person.variant]:
            return t + int((3 + rng.random() * 60) * S), None
        t = ensure_account(rng, em, person, t + int((15 + rng.random() * 90) * S))
        plan = "annual" if rng.random() < 0.3 else "monthly"
        prices = vocab.SUBSCRIPTION_PRICES[plan]
        currency = person.currency if person.currency in prices else "USD"
        t += int((20 + rng.random() * 60) * S)
        em.track(
            t,
            "Subscription Started",
            {"plan": plan, "revenue": prices[currency], "currency": currency},
        )
        person.plan = plan
        t += 400
        em.identify(t, traits(em, person))
        r = rng.random()
        if r < 0.2:  # changed their mind within two weeks
            person.cancel_day = day + 1 + int(rng.random() * 13)
        elif r < 0.4:
            person.cancel_day = day + 21 + int(rng.random() * 50)
        return t + int(rng.random() * 10 * S), None
    if page.path == "/signup":
        if person.user_id is None and rng.random() < 0.5:
            t = signup(rng, em, person, t + int((15 + rng.random() * 60) * S))
        return t + int(rng.random() * 10 * S), None
    if page.path == "/account" and person.cancel_day == day and person.plan != "free":
        t = ensure_account(rng, em, person, t + int((5 + rng.random() * 40) * S))
        reason = vocab.CANCEL_REASONS[int(rng.random() * len(vocab.CANCEL_REASONS))]
        em.track(t, "Subscription Cancelled", {"plan": person.plan, "reason": reason})
        person.plan = "free"
        person.cancel_day = None
        t += 400
        em.identify(t, traits(em, person))
        return t, None
    return t + int((2 + rng.random() * 30) * S), None
