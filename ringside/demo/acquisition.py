"""Where a session comes from: its traffic source (search, social, referral, direct, a
campaign or a push notification), the referrer and the landing page, and the UTM
campaigns running on a day."""

from __future__ import annotations

import random
from urllib.parse import quote_plus

from ringside.demo import vocab
from ringside.demo.catalog import Content, DayPools
from ringside.demo.pages import Page, random_content
from ringside.demo.people import Device, Person, bucket, pick_weighted, weighted

# Where a session's visitor comes from: (source, cumulative probability).
_FIRST_VISIT_SOURCES = (
    ("organic", 0.38),
    ("social", 0.6),
    ("referral", 0.68),
    ("direct", 0.86),
    ("campaign", 1.0),
)
_RETURN_SOURCES = (
    ("direct", 0.55),
    ("organic", 0.73),
    ("social", 0.83),
    ("referral", 0.86),
    ("campaign", 1.0),
)
_REFERRERS = {
    "organic": weighted(vocab.ORGANIC_REFERRERS),
    "social": weighted(vocab.SOCIAL_REFERRERS),
    "referral": weighted(vocab.REFERRAL_REFERRERS),
}


def acquisition(
    rng: random.Random,
    pools: DayPools,
    day: int,
    fight: Content | None,
    campaigns: list[dict[str, str]],
    person: Person,
    dev: Device,
    first_visit: bool,
    utm_restart: bool,
) -> tuple[dict[str, str] | None, str, Page]:
    """(campaign, referrer, landing page) of a new session on ``day``; ``fight`` is
    tonight's fight event, ``campaigns`` the day's (``campaigns_on``)."""
    if person.cancel_day == day and person.plan != "free":
        return None, "", Page(None, "/account")
    if dev.is_app:
        if fight is not None and rng.random() < 0.25:
            push = {
                "source": "push",
                "medium": "push",
                "name": f"fight-night-{fight.number}",
            }
            return push, "", Page(fight)
        return None, "", Page(None, "/")
    if utm_restart:
        source = "campaign"
    else:
        source = bucket(rng.random(), _FIRST_VISIT_SOURCES if first_visit else _RETURN_SOURCES)
    if source == "campaign":
        campaign = campaigns[int(rng.random() * len(campaigns))]
        search = "?" + "&".join(
            f"utm_{k if k != 'name' else 'campaign'}={quote_plus(v)}" for k, v in campaign.items()
        )
        if campaign["medium"] == "email":
            landing = Page(pools.by_type["article"].pick(rng))
        elif rng.random() < 0.4:
            landing = Page(None, "/subscribe")
        else:
            landing = Page(pools.next_event or pools.settled["fight_event"].pick(rng))
        landing.search = search
        return campaign, "", landing
    if source == "direct":
        return (
            None,
            "",
            Page(None, "/") if rng.random() < 0.7 else random_content(rng, pools, fight),
        )
    values, cum = _REFERRERS[source]
    referrer = pick_weighted(rng, values, cum)
    if source == "social" and pools.trending is not None and rng.random() < 0.6:
        return None, referrer, Page(pools.trending)
    if source == "organic":
        return None, referrer, random_content(rng, pools, fight, fighter_bias=True)
    return None, referrer, random_content(rng, pools, fight)


def campaigns_on(day: int, pools: DayPools) -> list[dict[str, str]]:
    """The UTM campaigns running on ``day``."""
    week = (day + 3) // 7
    campaigns = [
        {
            "source": "newsletter",
            "medium": "email",
            "name": f"weekly-roundup-{week}",
            "content": "top-story",
        },
        {
            "source": "newsletter",
            "medium": "email",
            "name": f"weekly-roundup-{week}",
            "content": "footer",
        },
        {"source": "google", "medium": "cpc", "name": "brand-search", "term": "ringside mma"},
    ]
    ev = pools.next_event
    if ev is not None and ev.day - day <= 10:
        promo = f"{vocab.PROMOTION.lower()}-{ev.number}-promo"
        campaigns += [
            {"source": "facebook", "medium": "cpc", "name": promo, "content": "video-ad-a"},
            {"source": "facebook", "medium": "cpc", "name": promo, "content": "carousel-b"},
            {"source": "twitter", "medium": "social", "name": promo},
            {
                "source": "google",
                "medium": "cpc",
                "name": promo,
                "term": f"watch {vocab.PROMOTION.lower()} {ev.number}",
            },
        ]
    return campaigns
