"""Fields derived from an event at ingestion: device, place, anonymized IP, campaign, page.

User agents and IPs repeat heavily (one per visitor), so their parses are cached.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import geoip2.database
import geoip2.errors
import user_agents

from ingestion.events import Campaign, Context, Event, Page

# IPv4: keep the /24 (last octet zeroed); IPv6: keep the /48 (last 80 bits zeroed).
_IPV4_KEEP = (2**32 - 1) ^ (2**8 - 1)
_IPV6_KEEP = (2**128 - 1) ^ (2**80 - 1)


@dataclass(frozen=True, slots=True)
class Device:
    device_type: str | None  # desktop|mobile|tablet|bot|other; None without a user agent
    browser: str | None
    os: str | None


NO_DEVICE = Device(None, None, None)
NO_CONTEXT = Context()


@lru_cache(maxsize=8192)
def parse_user_agent(user_agent: str) -> Device:
    parsed = user_agents.parse(user_agent)
    if parsed.is_bot:
        device_type = "bot"
    elif parsed.is_tablet:
        device_type = "tablet"
    elif parsed.is_mobile:
        device_type = "mobile"
    elif parsed.is_pc:
        device_type = "desktop"
    elif parsed.os.family in ("iOS", "Android"):
        # Native apps' user agents ("App/5.3 (...; iOS 18.5) Alamofire/5.10") name the OS
        # but no device.
        device_type = "mobile"
    else:
        device_type = "other"
    return Device(device_type, parsed.browser.family, parsed.os.family)


@lru_cache(maxsize=65536)
def anonymize_ip(ip: str) -> str | None:
    """The IP with its host part zeroed, or None when it is not an IP address."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        # Dual-stack proxies report IPv4 clients as ::ffff:a.b.c.d; the /48 rule would
        # erase the whole IPv4 address, the /24 rule keeps what it should.
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        return str(ipaddress.IPv4Address(int(address) & _IPV4_KEEP))
    return str(ipaddress.IPv6Address(int(address) & _IPV6_KEEP))


def without_full_ip(context: Any) -> Any:
    """A raw ``context`` object with its ``ip`` anonymized (a new dict; the same object
    when there is no IP to hide), for storing the context as JSON."""
    if isinstance(context, dict) and isinstance(context.get("ip"), str):
        return {**context, "ip": anonymize_ip(context["ip"])}
    return context


@dataclass(frozen=True, slots=True)
class Place:
    country: str | None  # ISO 3166-1 alpha-2
    city: str | None


NOWHERE = Place(None, None)


class GeoIP:
    """Country/city lookups in a MaxMind GeoIP2/GeoLite2 City or Country database."""

    def __init__(self, path: Path) -> None:
        self._reader = geoip2.database.Reader(str(path))
        self._has_cities = "City" in self._reader.metadata().database_type
        self.locate = lru_cache(maxsize=65536)(self._lookup)

    def _lookup(self, ip: str) -> Place:
        try:
            if self._has_cities:
                city = self._reader.city(ip)
                return Place(city.country.iso_code, city.city.name)
            return Place(self._reader.country(ip).country.iso_code, None)
        except (geoip2.errors.AddressNotFoundError, ValueError):
            return NOWHERE


@lru_cache
def open_geoip(path: Path | None) -> GeoIP | None:
    """One reader per database per process; None when geo enrichment is not configured."""
    return GeoIP(path) if path is not None else None


@dataclass(frozen=True, slots=True)
class Utm:
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None


NO_UTM = Utm()
NO_PAGE = Page()
PAGE_FIELDS = ("url", "path", "referrer", "title", "search")


@dataclass(slots=True)  # not frozen: a frozen __init__ (a setattr per field) cost ~1 µs
class Enrichment:
    ip: str | None  # anonymized
    place: Place
    device: Device
    session_id: str | None
    page: Page
    utm: Utm


def enrich(event: Event, geo: GeoIP | None, fallback_ip: str | None = None) -> Enrichment:
    """Derived fields of an event. ``fallback_ip`` is the HTTP peer address: browsers do
    not send context.ip, and Segment fills it from the request the same way."""
    context = event.context or NO_CONTEXT
    ip = context.ip or fallback_ip
    session_id = context.session_id
    if session_id is None and event.properties:
        session_id = _text(event.properties.get("session_id"))
    page = _page(event, context.page)
    user_agent = context.user_agent
    return Enrichment(  # positional: keywords cost as much again, once per event
        anonymize_ip(ip) if ip else None,
        geo.locate(ip) if geo is not None and ip else NOWHERE,  # before anonymizing
        parse_user_agent(user_agent) if user_agent else NO_DEVICE,
        session_id,
        page,
        _utm(context.campaign, page.url),
    )


def _page(event: Event, page: Page | None) -> Page:
    """context.page, completed from properties for page events (Segment's page() call
    puts url/path/referrer/title/search in both places, some SDKs only in properties)."""
    if event.type != "page" or not event.properties:
        return page or NO_PAGE
    missing = {
        name: value
        for name in PAGE_FIELDS
        if (page is None or getattr(page, name) is None)
        and isinstance(value := event.properties.get(name), str)
    }
    if not missing:
        return page or NO_PAGE
    return (page or NO_PAGE).model_copy(update=missing)


def _utm(campaign: Campaign | None, page_url: str | None) -> Utm:
    """UTM fields from context.campaign, else from the utm_* parameters of the page URL."""
    if campaign is not None and any(
        (campaign.source, campaign.medium, campaign.name, campaign.term, campaign.content)
    ):
        return Utm(campaign.source, campaign.medium, campaign.name, campaign.term, campaign.content)
    if page_url and "utm_" in page_url:
        return utm_from_url(page_url)
    return NO_UTM


@lru_cache(maxsize=16384)
def utm_from_url(url: str) -> Utm:
    """The first value of each utm_* query parameter. Hand-rolled rather than
    urlsplit + parse_qs, which cost ~10x more and parse everything else too."""
    found: dict[str, str | None] = {}
    query = url.partition("?")[2].partition("#")[0]
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        name = key.removeprefix("utm_")
        if name != key and name in _UTM_NAMES and name not in found:
            found[name] = unquote_plus(value) or None
    return Utm(**found) if found else NO_UTM


_UTM_NAMES = frozenset(("source", "medium", "campaign", "term", "content"))


def _text(value: Any) -> str | None:
    """Strings and numbers as text (session ids are often numeric); anything else None."""
    if value is None or isinstance(value, bool):  # None first: the usual case
        return None
    return str(value) if isinstance(value, str | int | float) else None
