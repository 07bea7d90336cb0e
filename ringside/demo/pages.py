"""The pages of the demo site: which page a visitor opens next, and the page view (web)
or screen view (app) that records it."""

from __future__ import annotations

import random
from urllib.parse import quote_plus

from ringside.demo import vocab
from ringside.demo.catalog import Catalog, Content, DayPools
from ringside.demo.people import bucket
from ringside.demo.sink import Emitter

PAGE_NAMES = {
    "article": "Article",
    "video": "Video",
    "fighter": "Fighter",
    "fight_event": "Fight Event",
}
SITE_PAGES = {
    # path -> (page name, title)
    "/": ("Home", "Ringside MMA - News, Videos and Fight Nights"),
    "/news": ("News", "Latest MMA News | Ringside MMA"),
    "/videos": ("Videos", "MMA Videos and Full Fights | Ringside MMA"),
    "/events": ("Events", "Upcoming Fight Nights | Ringside MMA"),
    "/search": ("Search", "Search | Ringside MMA"),
    "/subscribe": ("Subscribe", "Subscribe to Ringside Premium | Ringside MMA"),
    "/signup": ("Sign Up", "Create your account | Ringside MMA"),
    "/account": ("Account", "Your account | Ringside MMA"),
}
# Content type of a page picked from the day's popular items: (type, cumulative probability).
_BROWSE_TYPES = (("article", 0.55), ("video", 0.75), ("fighter", 0.92), ("fight_event", 1.0))
# Search engines send people to fighter profiles a lot.
_SEARCH_LANDING_TYPES = (("fighter", 0.35), ("article", 0.8), ("video", 0.95), ("fight_event", 1.0))


class Page:
    """A page (or app screen) about to be viewed."""

    __slots__ = ("content", "path", "query", "results", "search")

    def __init__(self, content: Content | None, path: str = "", search: str = "") -> None:
        self.content = content
        self.path = content.path if content is not None else path
        self.search = search
        self.query = ""  # search pages: the query and its results, best first
        self.results: list[Content] = []


def random_content(
    rng: random.Random, pools: DayPools, fight: Content | None, fighter_bias: bool = False
) -> Page:
    """A popular item of the day; on a fight night often the fight itself."""
    r = rng.random()
    if fight is not None and r < 0.3:
        ctype = "fight_event"
    else:
        ctype = bucket(r, _SEARCH_LANDING_TYPES if fighter_bias else _BROWSE_TYPES)
    return Page(pools.by_type[ctype].pick(rng))


def next_page(
    rng: random.Random,
    catalog: Catalog,
    pools: DayPools,
    fight: Content | None,
    page: Page,
    t: int,
) -> Page:
    """Where a visitor goes from ``page``: related content, a listing, or another item."""
    if page.content is not None and rng.random() < 0.4:
        nxt = catalog.related(page.content, t, rng)
        if nxt is not None:
            return Page(nxt)
    if rng.random() < 0.06:
        return Page(None, ("/", "/news", "/videos", "/events")[int(rng.random() * 4)])
    return random_content(rng, pools, fight)


def search_page(rng: random.Random, catalog: Catalog, pools: DayPools, t: int) -> Page:
    """The search page of a query typed at ``t``, with its results."""
    query, results = catalog.search(pools, t, rng)
    page = Page(None, "/search", "?q=" + quote_plus(query))
    page.query, page.results = query, results
    return page


def track_view(
    rng: random.Random,
    em: Emitter,
    pools: DayPools,
    page: Page,
    t: int,
    referrer: str,
    campaign: dict[str, str] | None,
) -> None:
    """The page view (web) or screen view (app) of ``page``.

    Content not yet published at ``t`` (the day's pools include everything published
    by the end of the day) is swapped for one that was public in the morning, so only
    published content is ever viewed.
    """
    c = page.content
    if c is not None and c.published_ms > t:
        c = page.content = pools.settled[c.content_type].pick(rng)
        page.path = c.path
    if c is not None:
        name = PAGE_NAMES[c.content_type]
        title = c.page_title
        props: dict[str, object] = {
            "content_type": c.content_type,
            "content_id": c.content_id,
            "path": c.path,
        }
    else:
        name, title = SITE_PAGES[page.path]
        props = {"path": page.path}
    if not em.dev.is_app:
        url = vocab.SITE + page.path + page.search
        ctx = dict(em.dev.base_context)
        ctx["page"] = {
            "path": page.path,
            "referrer": referrer,
            "search": page.search,
            "title": title,
            "url": url,
        }
        if campaign:
            ctx["campaign"] = campaign
        em.ctx = ctx
        props["referrer"] = referrer
        props["search"] = page.search
        props["title"] = title
        props["url"] = url
    em.view(t, name, props)
