"""The official Segment and RudderStack Python SDKs, with their defaults (server-side:
no user agent, no IP, batches from a background thread, RudderStack gzipped), send every
call the collector's contract covers to a live server; every event lands, a build
succeeds and publishes, and the events are built with device_type 'unknown' (the
documented value for an event without a user agent, from staging): all of them in
stg_tracking__events, all but the alias calls in fct_events.

`group` is not called: the contract has no group type (docs/events.md), so the collector
rejects it by design.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow.parquet as pq
import pytest
import rudderstack.analytics.client as rudderstack_client
import segment.analytics.client as segment_client

from orchestration.runner import landed_days, run_build
from tests.live_server import LiveServer, landed_rows, live_server

WRITE_KEY = "demo-write-key"


class SdkClient(Protocol):
    def track(self, *args: Any, **kwargs: Any) -> Any: ...
    def page(self, *args: Any, **kwargs: Any) -> Any: ...
    def screen(self, *args: Any, **kwargs: Any) -> Any: ...
    def identify(self, *args: Any, **kwargs: Any) -> Any: ...
    def alias(self, *args: Any, **kwargs: Any) -> Any: ...
    def flush(self) -> None: ...
    def join(self) -> None: ...


@dataclass(frozen=True)
class Sent:
    message_id: str
    type: str
    user_id: str | None
    anonymous_id: str | None


@dataclass(frozen=True)
class SdkRun:
    server: LiveServer
    sent: dict[str, list[Sent]]  # SDK name -> what it was asked to send
    errors: dict[str, list[str]]  # SDK name -> what its on_error callback reported


def send_every_call(client: SdkClient, sdk: str) -> list[Sent]:
    """track, page, screen, identify (with a plan) and alias, as a server-side app calls
    them: ids only, no context at all."""
    anonymous, user = f"{sdk}-anon-{uuid.uuid4().hex[:8]}", f"{sdk}-user-{uuid.uuid4().hex[:8]}"
    sent: list[Sent] = []

    def message_id(kind: str) -> str:
        return f"{sdk}-{kind}-{uuid.uuid4()}"

    mid = message_id("track")
    client.track(
        anonymous_id=anonymous,
        event="Content Liked",
        properties={"content_type": "article", "content_id": "article:1"},
        message_id=mid,
    )
    sent.append(Sent(mid, "track", None, anonymous))
    mid = message_id("page")
    client.page(
        anonymous_id=anonymous,
        name="Home",
        properties={"path": "/", "url": "https://example.com/", "title": "Home"},
        message_id=mid,
    )
    sent.append(Sent(mid, "page", None, anonymous))
    mid = message_id("screen")
    client.screen(user_id=user, name="Fight Card", properties={"path": "/events/1"}, message_id=mid)
    sent.append(Sent(mid, "screen", user, None))
    mid = message_id("identify")
    client.identify(
        user_id=user,
        anonymous_id=anonymous,
        traits={"email": f"{user}@example.com", "plan": "annual", "country": "GB"},
        message_id=mid,
    )
    sent.append(Sent(mid, "identify", user, anonymous))
    mid = message_id("track-revenue")
    client.track(
        user_id=user,
        event="Subscription Started",
        properties={"plan": "annual", "revenue": 79.99, "currency": "GBP"},
        message_id=mid,
    )
    sent.append(Sent(mid, "track", user, None))
    mid = message_id("alias")
    client.alias(previous_id=anonymous, user_id=user, message_id=mid)
    sent.append(Sent(mid, "alias", user, None))
    return sent


def recorder(errors: list[str]) -> Callable[[Exception, list[dict[str, Any]]], None]:
    def on_error(error: Exception, batch: list[dict[str, Any]]) -> None:
        errors.append(f"{error!r} for {len(batch)} events")

    return on_error


@pytest.fixture(scope="module")
def sdk_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SdkRun]:
    home = tmp_path_factory.mktemp("sdk") / "home"
    with live_server(home) as server:
        sent: dict[str, list[Sent]] = {}
        errors: dict[str, list[str]] = {"segment": [], "rudderstack": []}
        # The SDKs' defaults, except where they would talk to their vendors' clouds or
        # retry for minutes: host, and few retries.
        segment = segment_client.Client(
            write_key=WRITE_KEY,
            host=server.url,
            on_error=recorder(errors["segment"]),
            max_retries=1,
        )
        rudder = rudderstack_client.Client(
            write_key=WRITE_KEY,
            host=server.url,
            on_error=recorder(errors["rudderstack"]),
            max_retries=1,
        )
        assert rudder.gzip, "RudderStack's default is gzip; the collector must inflate it"
        for name, client in (("segment", segment), ("rudderstack", rudder)):
            sent[name] = send_every_call(client, name)
            client.flush()
            client.join()
        yield SdkRun(server, sent, errors)


def test_the_sdks_report_no_error(sdk_run: SdkRun) -> None:
    assert sdk_run.errors == {"segment": [], "rudderstack": []}


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_every_sdk_call_lands_once(sdk_run: SdkRun, sdk: str) -> None:
    rows = {row["message_id"]: row for row in landed_rows(sdk_run.server.settings)}
    sent = sdk_run.sent[sdk]
    landed = {s.message_id: rows.get(s.message_id) for s in sent}
    missing = [mid for mid, row in landed.items() if row is None]
    assert missing == [], f"{sdk}: not landed: {missing}"
    for s in sent:
        row = rows[s.message_id]
        assert (row["type"], row["user_id"], row["anonymous_id"]) == (
            s.type,
            s.user_id,
            s.anonymous_id,
        )
        assert row["user_agent"] is None  # server-side SDKs send none: the case under test


def test_nothing_is_quarantined(sdk_run: SdkRun) -> None:
    quarantine = sdk_run.server.settings.layout.quarantine_dir
    files = list(quarantine.glob("*/*.parquet")) if quarantine.exists() else []
    rows = [row for path in files for row in pq.read_table(path).to_pylist()]
    assert [(r["field"], r["reason"], r["payload"][:200]) for r in rows] == []


@pytest.fixture(scope="module")
def served(sdk_run: SdkRun) -> Path:
    """ONE build of what the SDKs sent; the published copy."""
    settings = sdk_run.server.settings
    run_build(landed_days(settings.layout))
    assert settings.layout.serving_path.exists()
    return settings.layout.serving_path


def sent_by_id(sdk_run: SdkRun) -> dict[str, Sent]:
    return {s.message_id: s for calls in sdk_run.sent.values() for s in calls}


def test_a_build_publishes_the_sdk_events_with_an_unknown_device_type(
    sdk_run: SdkRun, served: Path
) -> None:
    sent = sent_by_id(sdk_run)
    with duckdb.connect(str(served), read_only=True) as con:
        staged = con.execute(
            "select message_id, event_type, device_type from stg_tracking__events"
        ).fetchall()
        facts = con.execute("select message_id, event_type, device_type from fct_events").fetchall()
    assert {mid: (kind, device) for mid, kind, device in staged} == {
        mid: (s.type, "unknown") for mid, s in sent.items()
    }
    # alias calls are identity bookkeeping, not activity: fct_events leaves them out
    # (int_events_sessionized.sql); every other call is an event there.
    assert {mid: (kind, device) for mid, kind, device in facts} == {
        mid: (s.type, "unknown") for mid, s in sent.items() if s.type != "alias"
    }


@pytest.mark.parametrize("sdk", ["segment", "rudderstack"])
def test_identify_traits_reach_fct_events(sdk_run: SdkRun, served: Path, sdk: str) -> None:
    """identify(traits={"plan": ...}): Segment's SDK sends them as `traits`, RudderStack's
    as `context.traits` (its client.py: "traits not needed at root level"); a collector
    that RudderStack's SDK can point at keeps them as the event's traits either way."""
    (identify,) = [s for s in sdk_run.sent[sdk] if s.type == "identify"]
    with duckdb.connect(str(served), read_only=True) as con:
        (traits,) = con.execute(
            "select traits from fct_events where message_id = ?", [identify.message_id]
        ).fetchone()
    assert traits is not None, f"{sdk}: identify traits lost (NULL in fct_events.traits)"
    assert json.loads(traits)["plan"] == "annual"
