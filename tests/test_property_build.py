"""Property: every event the contract accepts can be built.

Hypothesis generates requests of odd but valid events (every type; context absent,
null, empty or partial; empty strings where allowed; emoji, RTL, combining marks and
NUL in strings and keys; nested properties; events at the 32 KB limit; numbers as
strings; ISO-8601 times with offsets from -12:00 to +14:00 and 0-9 fractional digits;
sentAt present or absent, on the event or the batch; ids of one kind or both) and sends
them through the collector's routes (batch and single, Basic auth or writeKey in the
body, plain or gzip). The collector must answer 200 for each and accept every event,
never 5xx. Everything accepted lands in ONE home; then ONE build on DuckDB and ONE on
PostgreSQL (from a copy of the landed files) must succeed and publish, with fct_events
holding exactly the distinct accepted messageIds of the events it keeps (all but
crawlers, which this test knows by the user agents it chose, and alias calls, which are
identity bookkeeping and open no session: see int_events_sessionized.sql).

Event times stay within [now - 70 h, now + 55 min], skew correction included, so the
bounded acceptance window (default: 730 days back, 24 h ahead) takes every one.
"""

from __future__ import annotations

import gzip
import itertools
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.events import MAX_EVENT_BYTES
from orchestration.runner import landed_days, run_build
from ringside.core.postgres import connect
from ringside.core.settings import Settings
from tests.live_server import landed_rows
from tests.platforms import platform_environment

WRITE_KEY = "demo-write-key"
MAX_EXAMPLES = 150
NOW = datetime.now(UTC).replace(microsecond=0)
EARLIEST = NOW - timedelta(hours=70)
LATEST = NOW + timedelta(minutes=55)
EVENT_TYPES = ("track", "page", "screen", "identify", "alias")

# User agents, labelled here (not by the product's parser): crawlers are left out of
# fct_events, everything else is kept, without a user agent too.
BROWSER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1",
    "Fightapp/5.3 (iPhone; iOS 18.5) Alamofire/5.10",
    "curl/8.5.0",
    "analytics-python/2.3.3",
    "",
    "🥊\u202e agent \u05e9\u05dc\u05d5\u05dd",
    "agent\x00with NUL",
)
CRAWLER_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
)
ODD_STRINGS = (
    "", " ", "\x00", "a\x00b", "\x00\x00", "🥊🔥👊🏽", "مرحبا بالعالم", "שלום עולם",
    "e\u0301\u0301\u0301", "\u202eevil\u202c", "\ufeffbom", "\u200b", "null", "None", "0",
    "-1", "1e3", "12.50", "NaN", "true", "\\", '"', "'; drop table events; --", "{}", "[]",
    "%s %d {0}", "\n\t\r", "ǅ", "x" * 300, "\U0010ffff",
)  # fmt: skip
TRACKING_PLAN = (
    "Page Heartbeat", "Products Searched", "Search Result Clicked", "Content Shared",
    "Content Liked", "Comment Posted", "Video Playback Started", "Video Content Completed",
    "Signed Up", "Subscription Started", "Subscription Cancelled", "Order Completed",
    "Experiment Viewed",
)  # fmt: skip
OFFSETS = tuple(timedelta(minutes=m) for m in (
    -720, -660, -570, -300, -60, 0, 0, 60, 330, 345, 525, 765, 780, 840,
))  # fmt: skip

unicode_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24)
odd_text = st.one_of(st.sampled_from(ODD_STRINGS), unicode_text)
odd_key = st.one_of(
    st.sampled_from(("*", "", "\x00", "a.b", "$set", "properties", "revenue ", "🥊", "ключ")),
    unicode_text,
)
id_text = st.one_of(
    st.sampled_from(("a1", "a2", "u1", "u2", " ", "\x00", "🥊", "x" * 100, "0", "null")),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=100),
)
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    int64,
    st.floats(allow_nan=False, allow_infinity=False),
    odd_text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(odd_key, inner, max_size=3)
    ),
    max_leaves=8,
)
revenue = st.one_of(
    st.integers(min_value=-1000, max_value=10**9),
    st.floats(min_value=-1e6, max_value=1e9, allow_nan=False),
    st.sampled_from(("12.50", "0", "-3", "79.99", "1e3", " 7 ", "", "free", "12,50", "NaN")),
    st.decimals(min_value=0, max_value=10**6, places=2).map(str),
)


@st.composite
def timestamp_text(draw: st.DrawFn, low: datetime, high: datetime) -> str:
    """An ISO-8601 time with an offset, in [low, high] to within a second."""
    low, high = low.astimezone(UTC), high.astimezone(UTC)
    low = min(low, high - timedelta(seconds=3))
    moment = draw(
        st.datetimes(
            min_value=low.replace(tzinfo=None) + timedelta(seconds=1),
            max_value=high.replace(tzinfo=None) - timedelta(seconds=1),
        )
    ).replace(tzinfo=UTC)
    offset = draw(st.sampled_from(OFFSETS))
    local = moment.astimezone(timezone(offset))
    digits = draw(st.integers(min_value=0, max_value=9))
    fraction = f"{local.microsecond:06d}000"[:digits]
    separator = draw(st.sampled_from(("T", "T", " ")))
    if offset:
        sign, minutes = ("+" if offset > timedelta(0) else "-"), abs(offset) // timedelta(minutes=1)
        zone = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    else:
        zone = draw(st.sampled_from(("Z", "+00:00", "-00:00")))
    return f"{local:%Y-%m-%d}{separator}{local:%H:%M:%S}{'.' if digits else ''}{fraction}{zone}"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@st.composite
def contexts(draw: st.DrawFn) -> tuple[Any, bool]:
    """(context value or the marker `...` for absent, whether it is a crawler's)."""
    kind = draw(st.sampled_from(("absent", "null", "empty", "partial", "partial", "full")))
    if kind == "absent":
        return ..., False
    if kind == "null":
        return None, False
    if kind == "empty":
        return {}, False
    crawler = draw(st.booleans()) and draw(st.booleans())
    agent = draw(st.sampled_from(CRAWLER_AGENTS if crawler else BROWSER_AGENTS))
    optional_text = st.one_of(st.none(), odd_text)
    fields: dict[str, Any] = {
        "userAgent": agent,
        "ip": draw(
            st.sampled_from(
                (
                    "203.0.113.7",
                    "2001:db8::1",
                    "::ffff:198.51.100.9",
                    "not an ip",
                    "",
                    " 10.0.0.1 ",
                    "\x00",
                )
            )
        ),
        "locale": draw(optional_text),
        "sessionId": draw(st.one_of(odd_text, st.integers(0, 2**53))),
        "page": draw(
            st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {},
                    optional={
                        name: st.one_of(
                            optional_text,
                            st.sampled_from(
                                (
                                    "https://example.com/a?utm_source=x&utm_campaign=",
                                    "https://例え.jp/パス?q=🥊",
                                    "/",
                                    "",
                                )
                            ),
                        )
                        for name in ("url", "path", "referrer", "title", "search")
                    },
                ),
            )
        ),
        "campaign": draw(
            st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {},
                    optional={
                        name: optional_text
                        for name in ("source", "medium", "name", "term", "content")
                    },
                ),
            )
        ),
        "library": draw(
            st.one_of(st.none(), st.fixed_dictionaries({"name": odd_text, "version": odd_text}))
        ),
        "consent": draw(st.one_of(st.none(), st.fixed_dictionaries({"analytics": st.booleans()}))),
        "device": draw(json_value),  # unknown keys are kept only in the raw JSON
        draw(odd_key): draw(json_value),
    }
    if kind == "partial":
        keep = draw(st.sets(st.sampled_from(sorted(fields)), max_size=len(fields)))
        if crawler:
            keep.add("userAgent")
        fields = {name: value for name, value in fields.items() if name in keep}
    crawler = crawler and "userAgent" in fields
    return fields, crawler


@st.composite
def properties(draw: st.DrawFn, event_type: str) -> Any:
    kind = draw(st.sampled_from(("absent", "null", "empty", "odd", "plan", "plan")))
    if kind == "absent":
        return ...
    if kind == "null":
        return None
    if kind == "empty":
        return {}
    found: dict[str, Any] = draw(st.dictionaries(odd_key, json_value, max_size=4))
    if kind == "plan":
        found |= draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "content_id": st.one_of(odd_text, st.sampled_from(("article:1", "video:2"))),
                    "content_type": st.one_of(
                        odd_text, st.sampled_from(("article", "video", "fighter"))
                    ),
                    "path": odd_text,
                    "revenue": revenue,
                    "currency": st.sampled_from(("USD", "gbp", "EUR", "", "XXX", "🥊")),
                    "seconds": st.one_of(st.integers(-5, 10**12), st.sampled_from(("10", "ten"))),
                    "position": st.one_of(int64, st.floats(allow_nan=False, allow_infinity=False)),
                    "results_count": st.sampled_from((0, "3", None, 1e10)),
                    "session_id": st.one_of(odd_text, int64, json_value),
                    "*": json_value,
                    "nested": st.fixed_dictionaries(
                        {"a": st.fixed_dictionaries({"b": st.lists(json_value, max_size=3)})}
                    ),
                    # 20 levels below properties: deep, yet within the contract's limit.
                    "deep": st.integers(1, 20).map(nested),
                },
            )
        )
    return found


def nested(levels: int) -> Any:
    """Objects and arrays alternating, `levels` deep, around one odd string."""
    value: Any = "🥊\x00"
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


@dataclass
class Generated:
    event: dict[str, Any]
    event_type: str  # also when the event leaves `type` to its route
    crawler: bool
    message_id: str | None  # None: the collector assigns one

    @property
    def kept_in_facts(self) -> bool:
        """fct_events leaves out crawlers and alias calls (int_events_sessionized)."""
        return not self.crawler and self.event_type != "alias"


_ids = itertools.count(1)


@st.composite
def events(draw: st.DrawFn, type_omitted_ok: bool) -> Generated:
    event_type = draw(st.sampled_from(EVENT_TYPES))
    event: dict[str, Any] = {}
    if not (type_omitted_ok and draw(st.booleans())):
        event["type"] = event_type
    message_id: str | None = None
    if draw(st.integers(0, 9)):  # mostly with a messageId, unique per generated event
        prefix = f"m{next(_ids)}-"
        message_id = prefix + draw(odd_text)[: 100 - len(prefix)]
        event["messageId"] = message_id
    who = draw(st.sampled_from(("anonymous", "user", "both")))
    if who in ("anonymous", "both"):
        event["anonymousId"] = draw(id_text)
    if who in ("user", "both"):
        event["userId"] = draw(id_text)
    if event_type == "track":
        name = draw(st.one_of(st.sampled_from(TRACKING_PLAN), odd_text))[:200]
        event["event"] = name or "Content Liked"  # 1-200 characters
    elif draw(st.integers(0, 4)) == 0:
        event["event"] = draw(odd_text)  # ignored for other types, even ""
    if event_type in ("page", "screen") and draw(st.booleans()):
        event["name"] = draw(st.one_of(st.none(), odd_text))
    if event_type == "alias":
        event["previousId"] = draw(st.one_of(id_text, st.text(min_size=1, max_size=300)))
    if event_type == "identify" or draw(st.integers(0, 5)) == 0:
        traits = draw(st.dictionaries(odd_key, json_value, max_size=3))
        traits |= draw(
            st.fixed_dictionaries(
                {"plan": st.one_of(st.sampled_from(("monthly", "annual", "", "🥊")), json_value)},
                optional={
                    "email": odd_text,
                    "name": odd_text,
                    "country": st.sampled_from(("GB", "gb", "", "ZZ")),
                    "created_at": st.one_of(odd_text, timestamp_text(EARLIEST, LATEST)),
                },
            )
        )
        event["traits"] = draw(st.sampled_from((traits, traits, None)))
    found = draw(properties(event_type))
    if found is not ...:
        event["properties"] = found
    context, crawler = draw(contexts())
    if context is not ...:
        event["context"] = context
    if draw(st.integers(0, 5)):
        event["timestamp"] = draw(timestamp_text(EARLIEST, LATEST))
        if draw(st.booleans()):  # the client's clock at sending: not before the event
            event["sentAt"] = draw(timestamp_text(parse_time(event["timestamp"]), LATEST))
    elif draw(st.booleans()):
        event["sentAt"] = draw(timestamp_text(EARLIEST, LATEST))  # ignored without timestamp
    if draw(st.integers(0, 9)) == 0:
        event["receivedAt"] = "2001-01-01T00:00:00Z"  # the server's clock is used instead
    if draw(st.integers(0, 9)) == 0:
        event["integrations"] = {"All": False, "🥊": True}
    if draw(st.integers(0, 7)) == 0:
        pad_to(event, draw(st.integers(MAX_EVENT_BYTES - 2048, MAX_EVENT_BYTES)))
    return Generated(event, event_type, crawler, message_id)


def pad_to(event: dict[str, Any], size: int) -> None:
    """Grow the event to exactly `size` bytes serialized (32 KB is the limit)."""
    props = event.get("properties")
    if not isinstance(props, dict):
        props = event["properties"] = {}
    props["padding"] = ""
    missing = size - len(orjson.dumps(event))
    if missing > 0:
        props["padding"] = "🥊" * (missing // 8) + "x" * (missing - 4 * (missing // 8))
    # (each 🥊 is 4 bytes of UTF-8; the rest in ASCII)


@dataclass
class Request:
    route: str
    events: list[Generated]
    body: dict[str, Any]
    basic_auth: bool
    gzipped: bool


@st.composite
def requests(draw: st.DrawFn) -> Request:
    route = draw(
        st.sampled_from(("/v1/batch", "/v1/batch", "/v1/batch", "/api/analytics/events/", "single"))
    )
    basic_auth = draw(st.booleans()) or draw(st.booleans())
    gzipped = draw(st.integers(0, 3)) == 0
    if route == "single" or (route == "/api/analytics/events/" and draw(st.booleans())):
        generated = draw(events(type_omitted_ok=route == "single"))
        path = f"/v1/{generated.event_type}" if route == "single" else route
        body = dict(generated.event)
        # writeKey in the body counts against the event's 32 KB: only with room to spare.
        if not basic_auth and len(orjson.dumps(body)) > MAX_EVENT_BYTES - 64:
            basic_auth = True
        if not basic_auth:
            body["writeKey"] = WRITE_KEY
        return Request(path, [generated], body, basic_auth, gzipped)
    batch = draw(st.lists(events(type_omitted_ok=False), min_size=1, max_size=8))
    while sum(len(orjson.dumps(g.event)) for g in batch) > 400_000:
        batch.pop()
    with_ids = [g for g in batch if g.message_id is not None]
    if with_ids and draw(st.integers(0, 4)) == 0:  # a client retry inside the batch
        batch.append(draw(st.sampled_from(with_ids)))
    body = {"batch": [g.event for g in batch]}
    if draw(st.booleans()):
        # The batch's sentAt applies to events without their own: not before any of them.
        times = [
            parse_time(g.event["timestamp"])
            for g in batch
            if "timestamp" in g.event and "sentAt" not in g.event
        ]
        body["sentAt"] = draw(timestamp_text(max(times, default=EARLIEST), LATEST))
    if not basic_auth:
        body["writeKey"] = WRITE_KEY
    return Request(route, batch, body, basic_auth, gzipped)


@dataclass
class Campaign:
    """What the hypothesis loop sent and what the collector answered."""

    home: Path
    postgres_home: Path
    examples: int = 0
    requests: int = 0
    events_sent: int = 0
    accepted: int = 0
    rejected: list[tuple[str, Any]] = field(default_factory=list)  # (reason, event)
    server_errors: list[tuple[int, str, bytes]] = field(default_factory=list)
    unexpected: list[tuple[int, str, Any]] = field(default_factory=list)
    kept_ids: set[str] = field(default_factory=set)  # fct_events keeps these (with ids)
    kept_without_id: int = 0  # ... and this many the collector gave an id
    staged_ids: set[str] = field(default_factory=set)  # every accepted id
    staged_without_id: int = 0
    seconds: float = 0.0

    def figures(self) -> str:
        return (
            f"examples tried {self.examples}, requests {self.requests}, "
            f"events sent {self.events_sent}, accepted {self.accepted}, "
            f"rejected {len(self.rejected)}, 5xx {len(self.server_errors)}, "
            f"other non-200 {len(self.unexpected)}, "
            f"distinct accepted {len(self.staged_ids) + self.staged_without_id}, "
            f"expected in fct_events {self.expected_facts}, loop {self.seconds:.1f} s"
        )

    @property
    def expected_facts(self) -> int:
        return len(self.kept_ids) + self.kept_without_id


def send(client: TestClient, request: Request, campaign: Campaign) -> None:
    payload = orjson.dumps(request.body)
    headers = {"Content-Type": "application/json"}
    if request.gzipped:
        payload = gzip.compress(payload)
        headers["Content-Encoding"] = "gzip"
    response = client.post(
        request.route,
        content=payload,
        headers=headers,
        auth=(WRITE_KEY, "") if request.basic_auth else None,
    )
    campaign.requests += 1
    campaign.events_sent += len(request.events)
    if response.status_code >= 500:
        campaign.server_errors.append((response.status_code, request.route, payload[:2000]))
        return
    if response.status_code not in (200, 400):
        campaign.unexpected.append((response.status_code, request.route, response.text))
        return
    body = response.json()
    rejected = {r["index"]: r for r in body.get("rejected", [])}
    for index, generated in enumerate(request.events):
        if index in rejected:
            reason = f"{rejected[index]['field']}: {rejected[index]['reason']}"
            campaign.rejected.append((reason, generated.event))
            continue
        campaign.accepted += 1
        kept = generated.kept_in_facts
        if generated.message_id is None:
            campaign.staged_without_id += 1
            campaign.kept_without_id += kept
        else:
            campaign.staged_ids.add(generated.message_id)
            if kept:
                campaign.kept_ids.add(generated.message_id)
    if body.get("accepted") != len(request.events) - len(rejected):
        campaign.unexpected.append((response.status_code, request.route, body))


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    root = tmp_path_factory.mktemp("property")
    result = Campaign(home=root / "duckdb", postgres_home=root / "postgres")
    with platform_environment(Settings(home=result.home)) as env:
        env.layout.ensure()
        from api.main import create_app

        client = TestClient(create_app())

        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(requests())
        def collect(request: Request) -> None:
            result.examples += 1
            send(client, request, result)

        started = time.perf_counter()
        collect()
        result.seconds = time.perf_counter() - started
    # The PostgreSQL build reads a copy of what landed, taken before any build ran.
    shutil.copytree(result.home / "raw", result.postgres_home / "raw")
    print(f"\nproperty campaign: {result.figures()}")
    yield result


def test_the_collector_accepts_every_valid_event_and_never_fails(campaign: Campaign) -> None:
    assert campaign.examples >= MAX_EXAMPLES // 2, campaign.figures()
    assert campaign.server_errors == [], campaign.server_errors[:3]
    smallest = sorted(campaign.rejected, key=lambda r: len(orjson.dumps(r[1])))[:3]
    assert smallest == [], f"{len(campaign.rejected)} valid events rejected, e.g. {smallest}"
    assert campaign.unexpected == [], campaign.unexpected[:3]
    rows = landed_rows(Settings(home=campaign.home))
    assert len(rows) == campaign.accepted  # every acknowledged event is on disk
    assert {r["message_id"] for r in rows} >= {
        mid.replace("\x00", "\ufffd") for mid in campaign.staged_ids
    }


def test_a_duckdb_build_succeeds_and_publishes_every_kept_event(campaign: Campaign) -> None:
    with platform_environment(Settings(home=campaign.home)) as env:
        started = time.perf_counter()
        run_build(landed_days(env.layout))
        seconds = time.perf_counter() - started
        print(f"\nDuckDB build: {seconds:.1f} s; {campaign.figures()}")
        assert env.layout.serving_path.exists()
        with duckdb.connect(str(env.layout.serving_path), read_only=True) as con:
            facts = con.execute(
                "select count(*), count(distinct message_id) from fct_events"
            ).fetchone()
            staged = con.execute(
                "select count(*), count(distinct message_id) from stg_tracking__events"
            ).fetchone()
    expected_staged = len(campaign.staged_ids) + campaign.staged_without_id
    assert staged == (expected_staged, expected_staged)
    assert facts == (campaign.expected_facts, campaign.expected_facts)


@pytest.mark.postgres
def test_a_postgres_build_succeeds_and_publishes_every_kept_event(campaign: Campaign) -> None:
    from tests.postgres import throwaway_database

    with throwaway_database() as database:
        target = Settings(home=campaign.postgres_home, warehouse="postgres", pg_database=database)
        with platform_environment(target) as env:
            started = time.perf_counter()
            run_build(landed_days(env.layout))
            seconds = time.perf_counter() - started
            print(f"\nPostgreSQL build: {seconds:.1f} s; {campaign.figures()}")
            assert env.layout.data_version_path.exists()  # stamped by a published build
            con = connect(env, reader=True)  # the API's read-only role sees the marts
            try:
                with con.cursor() as cur:
                    cur.execute(
                        f'select count(*), count(distinct message_id) from "{env.pg_schema}".'
                        "fct_events"
                    )
                    facts = cur.fetchone()
                    cur.execute(
                        f'select count(*), count(distinct message_id) from "{env.pg_schema}".'
                        "stg_tracking__events"
                    )
                    staged = cur.fetchone()
            finally:
                con.close()
    expected_staged = len(campaign.staged_ids) + campaign.staged_without_id
    assert staged == (expected_staged, expected_staged)
    assert facts == (campaign.expected_facts, campaign.expected_facts)


def test_timestamp_texts_are_iso_8601_with_an_offset_inside_the_bounds() -> None:
    """The generator's own contract: every text parses, is aware and within bounds."""
    low, high = NOW - timedelta(hours=1), NOW
    seen: list[str] = []

    @settings(max_examples=200, derandomize=True, database=None, deadline=None)
    @given(timestamp_text(low, high))
    def check(text: str) -> None:
        moment = parse_time(text)
        assert moment.tzinfo is not None
        assert low <= moment <= high
        seen.append(text)

    check()
    assert any(t.endswith("+14:00") for t in seen) and any(t.endswith("-12:00") for t in seen)
    assert any(len(t.split(".")[-1]) > 12 for t in seen if "." in t)  # 7-9 digits + zone
