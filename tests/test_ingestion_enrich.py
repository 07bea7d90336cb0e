"""Enrichment: user agent -> device, IP -> place and anonymized IP, campaign, page."""

from pathlib import Path

import pytest

from ingestion.enrich import (
    NO_DEVICE,
    Device,
    GeoIP,
    anonymize_ip,
    enrich,
    parse_user_agent,
    utm_from_url,
)
from ingestion.events import Event


def parsed(**fields: object) -> Event:
    return Event.model_validate({"messageId": "m", "type": "page", "anonymousId": "a", **fields})


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Safari/537.36",
            Device("desktop", "Chrome", "Windows"),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            Device("mobile", "Mobile Safari", "iOS"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/124.0.0.0 Mobile Safari/537.36",
            Device("mobile", "Chrome Mobile", "Android"),
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
            Device("tablet", "Mobile Safari", "iOS"),
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            Device("desktop", "Firefox", "Linux"),
        ),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            Device("bot", "Googlebot", "Other"),
        ),
        (
            "Ringside/5.3.0 (com.ringside.app; build:5300; iOS 18.5.0) Alamofire/5.10.2",
            Device("mobile", "Other", "iOS"),
        ),
        ("curl/8.5.0", Device("other", "curl", "Other")),
    ],
)
def test_user_agents_are_classified(user_agent: str, expected: Device):
    assert parse_user_agent(user_agent) == expected


def test_no_user_agent_means_no_device():
    assert enrich(parsed(), None).device == NO_DEVICE


@pytest.mark.parametrize(
    ("ip", "anonymized"),
    [
        ("203.0.113.77", "203.0.113.0"),  # IPv4: last octet zeroed
        # IPv6: the last 80 bits (5 of 8 groups) zeroed, the /48 kept
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
        ("::ffff:198.51.100.23", "198.51.100.0"),  # an IPv4 client behind a dual-stack proxy
        (" 198.51.100.23 ", "198.51.100.0"),
        ("not-an-ip", None),
        ("999.1.1.1", None),
    ],
)
def test_ips_are_anonymized(ip: str, anonymized: str | None):
    assert anonymize_ip(ip) == anonymized


def test_an_invalid_ip_is_stored_as_null_not_rejected():
    assert enrich(parsed(context={"ip": "unknown"}), None).ip is None


@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    """A tiny GeoIP2-City database with two networks, built for the test."""
    mmdb_writer = pytest.importorskip("mmdb_writer", reason="mmdb-writer (dev dependency)")
    from netaddr import IPSet

    writer = mmdb_writer.MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    writer.insert_network(
        IPSet(["203.0.113.0/24"]),
        {"country": {"iso_code": "GB"}, "city": {"names": {"en": "London"}}},
    )
    writer.insert_network(
        IPSet(["2001:db8::/32"]),
        {"country": {"iso_code": "DE"}, "city": {"names": {"en": "Berlin"}}},
    )
    path = tmp_path / "city.mmdb"
    writer.to_db_file(str(path))
    return path


def test_geoip_locates_the_full_ip_then_stores_it_anonymized(city_db: Path):
    geo = GeoIP(city_db)
    london = enrich(parsed(context={"ip": "203.0.113.77"}), geo)
    assert (london.place.country, london.place.city, london.ip) == ("GB", "London", "203.0.113.0")
    berlin = enrich(parsed(context={"ip": "2001:db8::1"}), geo)
    assert (berlin.place.country, berlin.place.city) == ("DE", "Berlin")
    nowhere = enrich(parsed(context={"ip": "198.51.100.1"}), geo)
    assert (nowhere.place.country, nowhere.place.city) == (None, None)
    assert enrich(parsed(context={"ip": "garbage"}), geo).place.country is None


def test_without_a_geoip_database_there_is_no_place():
    place = enrich(parsed(context={"ip": "203.0.113.77"}), None).place
    assert (place.country, place.city) == (None, None)


def test_utm_comes_from_context_campaign_first():
    extra = enrich(
        parsed(
            context={
                "campaign": {"source": "newsletter", "medium": "email", "name": "ufc-310"},
                "page": {"url": "https://x.test/?utm_source=google&utm_campaign=other"},
            }
        ),
        None,
    )
    assert (extra.utm.source, extra.utm.medium, extra.utm.campaign) == (
        "newsletter",
        "email",
        "ufc-310",
    )


def test_utm_falls_back_to_the_page_url_query():
    extra = enrich(
        parsed(
            context={
                "page": {
                    "url": "https://x.test/a?ref=1&utm_source=google&utm_medium=cpc"
                    "&utm_campaign=fight+night%20310&utm_term=ufc&utm_content=ad-2#top"
                }
            }
        ),
        None,
    )
    utm = extra.utm
    assert (utm.source, utm.medium, utm.campaign, utm.term, utm.content) == (
        "google",
        "cpc",
        "fight night 310",
        "ufc",
        "ad-2",
    )


def test_the_first_value_of_a_repeated_utm_parameter_wins():
    assert utm_from_url("https://x.test/?utm_source=a&utm_source=b").source == "a"
    assert utm_from_url("https://x.test/?utm_source=&utm_medium=x").source is None


def test_page_fields_fall_back_to_properties_for_page_events():
    extra = enrich(
        parsed(
            context={"page": {"url": "https://x.test/a"}},
            properties={"url": "https://ignored.test", "path": "/a", "title": "A", "search": 3},
        ),
        None,
    )
    page = extra.page
    assert (page.url, page.path, page.title, page.search) == ("https://x.test/a", "/a", "A", None)
    # Not for other types: a track event's properties.path is its own business.
    track = Event.model_validate(
        {"messageId": "m", "type": "track", "event": "E", "anonymousId": "a",
         "properties": {"path": "/a"}}
    )  # fmt: skip
    assert enrich(track, None).page.path is None


def test_session_id_from_context_then_properties():
    assert enrich(parsed(context={"sessionId": 1714560000000}), None).session_id == "1714560000000"
    assert enrich(parsed(properties={"session_id": "s-9"}), None).session_id == "s-9"
    both = parsed(context={"sessionId": "s-1"}, properties={"session_id": "s-9"})
    assert enrich(both, None).session_id == "s-1"
