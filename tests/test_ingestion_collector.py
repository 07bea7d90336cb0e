"""The HTTP collector through FastAPI's TestClient, reading back what landed."""

import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routes.collector import router
from ingestion.collector_log import open_log
from ringside.core.settings import Settings, get_settings

KEY = "test-write-key"
AUTH = (KEY, "")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", write_keys=[KEY, "other-source-key"])


def client_for(settings: Settings) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_settings] = lambda: settings
    return TestClient(app)


def create_app_for(settings: Settings) -> FastAPI:
    from api.main import create_app

    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    return app


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return client_for(settings)


def event(mid: str | None, **fields: Any) -> dict[str, Any]:
    body = {"type": "track", "event": "Content Liked", "anonymousId": "d1"} | fields
    return body if mid is None else {"messageId": mid} | body


def landed(settings: Settings) -> list[dict[str, Any]]:
    if not settings.layout.raw_events_dir.exists():
        return []
    return pq.read_table(settings.layout.raw_events_dir).to_pylist()


def quarantined(settings: Settings) -> list[dict[str, Any]]:
    if not settings.layout.quarantine_dir.exists():
        return []
    rows = pq.read_table(settings.layout.quarantine_dir).to_pylist()
    return sorted(rows, key=lambda r: r["batch_index"])


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_batch_lands_the_valid_events_and_reports_the_rejected(client, settings):
    batch = [
        event("m1", properties={"content_id": "article:1"}),
        event("m2", event=None),  # track without `event`
        event("m1", properties={"content_id": "article:1"}),  # the same event again
        event("m3", userId="u" * 101, context={"page": {"url": 7}}),  # two problems
        "not an event",
    ]
    response = client.post("/v1/batch", json={"batch": batch}, auth=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["accepted"]) == (True, 2)
    assert body["rejected"] == [
        {"index": 1, "field": "event", "reason": "is required for type 'track'", "messageId": "m2"},
        {"index": 3, "field": "userId", "reason": "must be at most 100 characters (got 101)",
         "messageId": "m3"},
        {"index": 4, "field": "$", "reason": "must be a JSON object (got string)",
         "messageId": body["rejected"][2]["messageId"]},
    ]  # fmt: skip

    # At-least-once: the repeat lands too and dbt staging keeps the first copy.
    rows = landed(settings)
    assert sorted(r["message_id"] for r in rows) == ["m1", "m1"]
    assert {r["source"] for r in rows} == {"http"}
    request_ref = rows[0]["source_ref"]
    assert uuid.UUID(request_ref)  # the request id

    rejects = quarantined(settings)
    assert [(r["batch_index"], r["field"]) for r in rejects] == [
        (1, "event"),
        (3, "userId"),
        (4, "$"),
    ]
    m3 = rejects[1]
    assert json.loads(m3["errors"]) == [
        {"field": "userId", "reason": "must be at most 100 characters (got 101)"},
        {"field": "context.page.url", "reason": "must be a string (got number)"},
    ]
    assert json.loads(m3["payload"]) == batch[3]
    assert {r["source_ref"] for r in rejects} == {request_ref}


def test_the_write_key_can_be_sent_in_the_body(client, settings):
    response = client.post("/v1/batch", json={"batch": [event("m1")], "writeKey": KEY})
    assert response.status_code == 200 and response.json()["accepted"] == 1


@pytest.mark.parametrize(
    "credentials",
    [
        {"auth": ("wrong", "")},
        {"headers": {"Authorization": "Bearer test-write-key"}},  # not Basic: no key given
        {},
        {"json_key": "wrong"},
    ],
)
def test_a_missing_or_wrong_key_is_401_and_nothing_lands(client, settings, credentials):
    body: dict[str, Any] = {"batch": [event("m1")]}
    if "json_key" in credentials:
        body["writeKey"] = credentials.pop("json_key")
    response = client.post("/v1/batch", json=body, **credentials)
    assert response.status_code == 401
    assert "write key" in response.json()["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert not settings.layout.home.exists()


def test_gzip_bodies_are_accepted(client, settings):
    body = gzip.compress(orjson.dumps({"batch": [event("m1"), event("m2")]}))
    response = client.post(
        "/v1/batch",
        content=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        auth=AUTH,
    )
    assert response.status_code == 200 and response.json()["accepted"] == 2
    assert len(landed(settings)) == 2


def test_a_zip_bomb_is_refused_without_inflating_it(client, settings):
    # ~50 MB of whitespace compresses to ~50 KB; the limit applies after decompression.
    bomb = gzip.compress(b'{"batch": [' + b" " * 50_000_000 + b"]}")
    assert len(bomb) < 500 * 1024
    response = client.post(
        "/v1/batch", content=bomb, headers={"Content-Encoding": "gzip"}, auth=AUTH
    )
    assert response.status_code == 413
    assert "500 KB" in response.json()["detail"]
    assert not settings.layout.home.exists()


def test_a_body_over_500_kb_is_413(client, settings):
    batch = [event(f"m{i}", properties={"pad": "x" * 1000}) for i in range(600)]
    response = client.post("/v1/batch", json={"batch": batch}, auth=AUTH)
    assert response.status_code == 413
    assert "500 KB" in response.json()["detail"]
    assert not settings.layout.home.exists()


def test_more_than_2500_events_is_400(client, settings):
    batch = [{"type": "page", "anonymousId": "d"} for _ in range(2501)]
    response = client.post("/v1/batch", json={"batch": batch}, auth=AUTH)
    assert response.status_code == 400
    assert response.json()["detail"] == "a batch may contain at most 2,500 events (got 2,501)"
    assert not settings.layout.home.exists()


def test_an_event_over_32_kb_is_rejected_in_a_batch_and_413_alone(client, settings):
    big = event("big", properties={"debug_dom": "x" * 40_000})
    response = client.post("/v1/batch", json={"batch": [event("ok"), big]}, auth=AUTH)
    assert response.status_code == 200
    (rejected,) = response.json()["rejected"]
    assert (rejected["index"], rejected["field"]) == (1, "$")
    assert "32 KB" in rejected["reason"]

    response = client.post("/v1/track", json=big, auth=AUTH)
    assert response.status_code == 413 and "32 KB" in response.json()["detail"]
    response = client.post("/api/analytics/events/", json=big, auth=AUTH)
    assert response.status_code == 413 and "32 KB" in response.json()["detail"]


@pytest.mark.parametrize("body", [b"{not json", b'{"batch": [1, 2', b"\xff\xfe"])
def test_a_malformed_body_is_400(client, settings, body: bytes):
    response = client.post("/v1/batch", content=body, auth=AUTH)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("body is not valid JSON")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ([event("m1")], "body must be a JSON object"),
        ({"events": [event("m1")]}, "batch is required and must be an array of events"),
        ({"batch": []}, "batch must contain at least one event"),
    ],
)
def test_a_batch_body_of_the_wrong_shape_is_400(client, body: Any, detail: str):
    response = client.post("/v1/batch", json=body, auth=AUTH)
    assert (response.status_code, response.json()["detail"]) == (400, detail)


def test_an_unknown_content_encoding_is_415(client):
    response = client.post(
        "/v1/batch", content=b"{}", headers={"Content-Encoding": "br"}, auth=AUTH
    )
    assert response.status_code == 415


def test_when_every_event_is_invalid_the_answer_is_400_and_they_are_quarantined(client, settings):
    response = client.post(
        "/v1/batch", json={"batch": [event("a", type="bogus"), event("b", event="")]}, auth=AUTH
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["success"], body["accepted"]) == (False, 0)
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(0, "type"), (1, "event")]
    assert len(quarantined(settings)) == 2 and landed(settings) == []


@pytest.mark.parametrize("kind", ["track", "page", "screen", "identify", "alias"])
def test_single_event_endpoints_imply_the_type(client, settings, kind: str):
    body = {"messageId": "m1", "anonymousId": "d1", "event": "Signed Up", "previousId": "d0",
            "userId": "u1"}  # fmt: skip
    response = client.post(f"/v1/{kind}", json=body, auth=AUTH)
    assert response.status_code == 200, response.text
    (row,) = landed(settings)
    assert row["type"] == kind


def test_a_type_conflicting_with_the_endpoint_is_rejected(client, settings):
    response = client.post("/v1/page", json=event("m1"), auth=AUTH)
    assert response.status_code == 400
    (rejected,) = response.json()["rejected"]
    assert rejected == {
        "index": 0,
        "field": "type",
        "reason": "must be 'page' on this endpoint (got 'track')",
        "messageId": "m1",
    }
    assert len(quarantined(settings)) == 1


def test_a_missing_message_id_is_filled_with_a_uuid4(client, settings):
    response = client.post("/v1/batch", json={"batch": [event(None), event(None)]}, auth=AUTH)
    assert response.status_code == 200
    ids = [uuid.UUID(row["message_id"]) for row in landed(settings)]
    assert len(set(ids)) == 2 and all(i.version == 4 for i in ids)


def test_the_write_key_in_a_single_event_body_is_not_stored(client, settings):
    response = client.post("/v1/track", json=event("m1", event="", writeKey=KEY))
    assert response.status_code == 400
    (row,) = quarantined(settings)
    assert "writeKey" not in json.loads(row["payload"])


def test_received_at_is_the_servers_clock_and_skew_is_corrected(client, settings):
    now = datetime.now(UTC)
    client_clock = now + timedelta(hours=2)  # the device's clock is 2 h fast
    body = {
        "batch": [
            event("m1", timestamp=iso(client_clock - timedelta(seconds=30)),
                  receivedAt="2001-01-01T00:00:00Z"),
        ],
        "sentAt": iso(client_clock),
    }  # fmt: skip
    assert client.post("/v1/batch", json=body, auth=AUTH).status_code == 200
    (row,) = landed(settings)
    received = row["received_at"]
    naive_now = now.replace(tzinfo=None)
    assert timedelta(0) <= received - naive_now < timedelta(seconds=30)  # not the client's 2001
    assert row["sent_at"] == datetime.fromisoformat(iso(client_clock)).replace(tzinfo=None)
    assert row["event_time"] == received - timedelta(seconds=30)


def test_an_invalid_batch_sent_at_is_400(client, settings):
    body = {"batch": [event("m1")], "sentAt": "2026-08-04 10:00:00"}
    response = client.post("/v1/batch", json=body, auth=AUTH)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("sentAt must include a UTC offset")


def test_the_product_endpoint_takes_one_event_or_a_batch(client, settings):
    one = client.post("/api/analytics/events/", json=event("m1"), auth=AUTH)
    many = client.post(
        "/api/analytics/events/", json={"batch": [event("m2"), event("m3")]}, auth=AUTH
    )
    assert (one.status_code, one.json()["accepted"]) == (200, 1)
    assert (many.status_code, many.json()["accepted"]) == (200, 2)
    assert sorted(r["message_id"] for r in landed(settings)) == ["m1", "m2", "m3"]


def test_every_route_declares_its_response_model(client):
    paths = client.get("/openapi.json").json()["paths"]
    expected = {"/v1/batch", "/api/analytics/events/"} | {
        f"/v1/{kind}" for kind in ("track", "page", "screen", "identify", "alias")
    }
    assert set(paths) == expected
    for operation in (paths[p]["post"] for p in expected):
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/IngestResponse"}


def test_events_without_context_ip_take_the_peer_address_anonymized(settings):
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_settings] = lambda: settings
    # Browsers do not send context.ip; Segment fills it from the request's address.
    peer = TestClient(app, client=("198.51.100.23", 51000))
    batch = [event("p1"), event("p2", context={"ip": "203.0.113.9"})]
    assert peer.post("/v1/batch", json={"batch": batch}, auth=AUTH).status_code == 200
    ips = {row["message_id"]: row["ip"] for row in landed(settings)}
    assert ips == {"p1": "198.51.100.0", "p2": "203.0.113.0"}


def test_identify_traits_sent_in_context_as_rudderstack_does_are_kept(client, settings):
    batch = [
        {"type": "identify", "messageId": "r1", "userId": "u1",
         "context": {"traits": {"plan": "annual"}}},
        {"type": "identify", "messageId": "s1", "userId": "u1", "traits": {"plan": "monthly"},
         "context": {"traits": {"plan": "annual"}}},
        {"type": "track", "event": "Content Liked", "messageId": "t1", "userId": "u1",
         "context": {"traits": {"plan": "annual"}}},
    ]  # fmt: skip
    assert client.post("/v1/batch", json={"batch": batch}, auth=AUTH).status_code == 200
    traits = {row["message_id"]: row["traits"] for row in landed(settings)}
    # Top-level traits win; a track's context traits describe the user, not this event.
    assert traits == {"r1": '{"plan":"annual"}', "s1": '{"plan":"monthly"}', "t1": None}


def test_an_acknowledged_request_is_in_the_log_and_lands_at_the_next_flush(tmp_path):
    """The production shape: the answer waits for the log's sync, not for Parquet."""
    settings = Settings(home=tmp_path / "home", write_keys=[KEY], collector_flush_seconds=3600)
    client = client_for(settings)
    answers = [
        client.post("/v1/batch", json={"batch": [event(f"m{n}"), {"type": "x"}]}, auth=AUTH)
        for n in range(3)
    ]
    assert [a.json()["accepted"] for a in answers] == [1, 1, 1]
    assert landed(settings) == [] and quarantined(settings) == []
    log = open_log(settings)
    assert log.pending_bytes() > 0
    log.flush()
    assert sorted(r["message_id"] for r in landed(settings)) == ["m0", "m1", "m2"]
    assert len(quarantined(settings)) == 3
    assert log.pending_bytes() == 0


def test_a_collector_behind_answers_503_with_retry_after_and_accepts_nothing(tmp_path):
    settings = Settings(
        home=tmp_path / "home",
        write_keys=[KEY],
        collector_flush_seconds=3600,
        collector_max_pending_mb=1,
    )
    client = client_for(settings)
    big = "x" * 400
    answers = []
    for n in range(20):
        batch = [event(f"b{n}-{k}", properties={"note": big}) for k in range(500)]
        answers.append(client.post("/v1/batch", json={"batch": batch}, auth=AUTH))
        if answers[-1].status_code == 503:
            break
    refused = answers[-1]
    assert refused.status_code == 503, [a.status_code for a in answers]
    assert refused.headers["Retry-After"] == "5"
    assert "behind" in refused.json()["detail"]
    health = TestClient(create_app_for(settings)).get("/health").json()
    assert health["status"] == "degraded" and health["collector_log_mb"]["0"] > 1
    assert any("collector process 0" in reason for reason in health["degraded"])
    # What was acknowledged lands; the refused batch does not.
    open_log(settings).flush()
    accepted = sum(a.json()["accepted"] for a in answers[:-1])
    assert accepted > 0 and len(landed(settings)) == accepted
    # Landed, the log is empty again and requests are accepted.
    assert client.post("/v1/track", json=event("after"), auth=AUTH).status_code == 200


def test_a_nearly_full_disk_answers_503(tmp_path):
    settings = Settings(home=tmp_path / "home", write_keys=[KEY], min_free_disk_mb=10**9)
    response = client_for(settings).post("/v1/track", json=event("m1"), auth=AUTH)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "disk is nearly full" in response.json()["detail"]
    assert landed(settings) == []
