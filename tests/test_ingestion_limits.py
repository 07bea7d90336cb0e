"""Inputs the collector and the batch loader used to accept and the build could not take,
or that answered 500: each is now refused with a 4xx naming the limit, or quarantined
with its reason while the rest of its batch lands."""

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routes.collector import router
from ingestion.batch import ingest_paths
from ingestion.events import MAX_JSON_DEPTH
from ringside.core.settings import Settings, get_settings

AUTH = ("demo-write-key", "")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture
def client(settings: Settings) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_settings] = lambda: settings
    return TestClient(app)


def landed(settings: Settings) -> dict[str, dict[str, Any]]:
    if not settings.layout.raw_events_dir.exists():
        return {}
    return {
        row["message_id"]: row for row in pq.read_table(settings.layout.raw_events_dir).to_pylist()
    }


def quarantined(settings: Settings) -> list[dict[str, Any]]:
    if not settings.layout.quarantine_dir.exists():
        return []
    return pq.read_table(settings.layout.quarantine_dir).to_pylist()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def nested(depth: int) -> Any:
    """An object nesting `depth` levels: {"a": {"a": ... {} }} counts 1 per object."""
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def page(mid: str, **fields: Any) -> dict[str, Any]:
    return {"type": "page", "messageId": mid, "anonymousId": "d1"} | fields


def test_events_far_in_the_past_or_future_are_quarantined_with_the_window(client, settings):
    now = datetime.now(UTC)
    batch = [
        page("epoch", timestamp="1970-01-01T00:00:00Z"),
        page("far-future", timestamp="2099-06-01T00:00:00Z"),
        page("tomorrow-ish", timestamp=iso(now + timedelta(hours=20))),  # inside: 24 h ahead
        page("last-year", timestamp=iso(now - timedelta(days=400))),  # inside: 730 days back
    ]
    answer = client.post("/v1/batch", json={"batch": batch}, auth=AUTH)
    assert answer.status_code == 200
    refused = {r["messageId"]: r for r in answer.json()["rejected"]}
    assert set(refused) == {"epoch", "far-future"}
    assert refused["epoch"]["field"] == "timestamp"
    assert (
        "1970-01-01T00:00:00Z is before the earliest accepted event time"
        in (refused["epoch"]["reason"])
    )
    assert "after the latest accepted event time" in refused["far-future"]["reason"]
    assert set(landed(settings)) == {"tomorrow-ish", "last-year"}
    assert {row["message_id"] for row in quarantined(settings)} == {"epoch", "far-future"}


def test_history_imports_are_accepted_from_the_configured_earliest_date(tmp_path):
    settings = Settings(home=tmp_path / "home", earliest_event_date="2001-01-01")
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_settings] = lambda: settings
    answer = TestClient(app).post(
        "/v1/batch",
        json={
            "batch": [
                page("old", timestamp="2001-03-04T05:06:07Z"),
                page("older", timestamp="2000-12-31T23:59:59Z"),
            ]
        },
        auth=AUTH,
    )
    assert [r["messageId"] for r in answer.json()["rejected"]] == ["older"]
    assert landed(settings)["old"]["event_time"] == datetime(2001, 3, 4, 5, 6, 7)


def test_a_wild_batch_sent_at_cannot_move_an_event_out_of_the_window(client, settings):
    # sentAt in the year 1 and a sane timestamp: the correction would add ~2025 years.
    now = datetime.now(UTC)
    body = {"batch": [page("skewed", timestamp=iso(now))], "sentAt": "0001-01-01T00:00:00Z"}
    answer = client.post("/v1/batch", json=body, auth=AUTH)
    assert answer.status_code == 400  # its only event was refused
    (refused,) = answer.json()["rejected"]
    assert refused["field"] == "sentAt"
    assert "clock-skew correction" in refused["reason"]
    assert "(the batch's)" in refused["reason"]
    assert landed(settings) == {}
    assert len(quarantined(settings)) == 1


def test_a_skew_correction_past_the_year_9999_is_quarantined_not_a_500(client, settings):
    event = page("overflow", timestamp="9999-12-31T23:00:00Z", sentAt="0001-01-01T00:00:00Z")
    answer = client.post("/v1/page", json=event, auth=AUTH)
    assert answer.status_code == 400
    (refused,) = answer.json()["rejected"]
    assert (refused["field"], refused["reason"]) == (
        "sentAt",
        "moves the event past the years 1..9999 by clock-skew correction",
    )


def test_a_timestamp_that_is_year_0_in_utc_is_a_field_error_not_a_500(client, settings):
    answer = client.post(
        "/v1/page", json=page("y0", timestamp="0001-01-01T00:00:00+01:00"), auth=AUTH
    )
    assert answer.status_code == 400
    (refused,) = answer.json()["rejected"]
    assert refused["field"] == "timestamp"
    assert "between the years 1 and 9999 in UTC" in refused["reason"]
    body = {
        "batch": [page("ok", timestamp=iso(datetime.now(UTC)))],
        "sentAt": "0001-01-01T00:00:00+01:00",
    }
    answer = client.post("/v1/batch", json=body, auth=AUTH)
    assert answer.status_code == 400
    assert "sentAt must lie between the years 1 and 9999 in UTC" in answer.json()["detail"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 254, 300, 600])
def test_an_over_deep_event_is_quarantined_and_the_rest_of_its_batch_lands(client, settings, depth):
    deep = page("deep", properties=nested(depth - 1))  # the event itself is one level
    answer = client.post("/v1/batch", json={"batch": [page("fine"), deep]}, auth=AUTH)
    assert answer.status_code == 200
    (refused,) = answer.json()["rejected"]
    assert (refused["messageId"], refused["field"]) == ("deep", "$")
    assert f"at most {MAX_JSON_DEPTH} levels deep" in refused["reason"]
    assert set(landed(settings)) == {"fine"}
    (kept,) = quarantined(settings)
    payload = orjson.loads(kept["payload"])  # stored, cut at the limit with a marker
    assert payload["messageId"] == "deep"
    assert "nested deeper than" in kept["payload"]


def test_an_event_exactly_at_the_depth_limit_lands(client, settings):
    answer = client.post(
        "/v1/batch",
        json={"batch": [page("edge", properties=nested(MAX_JSON_DEPTH - 1))]},
        auth=AUTH,
    )
    assert answer.status_code == 200, answer.json()
    assert set(landed(settings)) == {"edge"}


def test_a_body_deeper_than_the_json_parser_allows_is_400(client, settings):
    body = b'{"batch": [' + b"[" * 2000 + b"]" * 2000 + b"]}"
    answer = client.post(
        "/v1/batch", content=body, auth=AUTH, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert "depth limit exceeded" in answer.json()["detail"]


def test_nul_characters_are_replaced_so_every_store_can_hold_them(client, settings):
    event = page("nul", name="a\u0000b", properties={"k\u0000": "v\u0000"})
    assert client.post("/v1/batch", json={"batch": [event]}, auth=AUTH).status_code == 200
    row = landed(settings)["nul"]
    assert row["name"] == "a\ufffdb"
    assert orjson.loads(row["properties"]) == {"k\ufffd": "v\ufffd"}


def test_one_over_deep_line_does_not_stop_a_file_or_the_directory(tmp_path, settings):
    now = iso(datetime.now(UTC))
    folder = tmp_path / "export"
    folder.mkdir()
    lines = [
        orjson.dumps(page("a", timestamp=now)),
        # 300 levels: more than JSON writers serialize, so spelled out as text.
        orjson.dumps(page("deep", timestamp=now, properties={})).replace(
            b'"properties":{}', b'"properties":' + b'{"a":' * 299 + b"{}" + b"}" * 299
        ),
        b'{"batch": ' + b"[" * 2000 + b"]" * 2000 + b"}",  # beyond the parser's own limit
        orjson.dumps(page("b", timestamp=now)),
    ]
    (folder / "one.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    with gzip.open(folder / "two.ndjson.gz", "wb") as out:
        out.write(orjson.dumps(page("c", timestamp=now)) + b"\n")
    report = ingest_paths([folder], settings.layout.ensure(), settings)
    assert (report.accepted, report.quarantined) == (3, 2)
    assert set(landed(settings)) == {"a", "b", "c"}
    reasons = sorted(row["reason"] for row in quarantined(settings))
    assert reasons[0].startswith("must nest objects and arrays at most")
    assert reasons[1].startswith("not valid JSON: depth limit exceeded")


def test_a_batch_file_event_may_lead_its_own_arrival_by_the_allowance_only(tmp_path, settings):
    # Exports carry their receivedAt: the event's time is judged against it, not against
    # the day the file is loaded, so an event three days ahead of its arrival is refused.
    arrived = "2026-08-02T10:00:00Z"
    lines = [
        page("ahead-3d", timestamp="2026-08-05T10:00:00Z", receivedAt=arrived),
        page("ahead-23h", timestamp="2026-08-03T09:00:00Z", receivedAt=arrived),
    ]
    path = tmp_path / "export.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    report = ingest_paths([path], settings.layout.ensure(), settings)
    assert (report.accepted, report.quarantined) == (1, 1)
    assert set(landed(settings)) == {"ahead-23h"}
    (refused,) = quarantined(settings)
    assert refused["field"] == "timestamp"
    assert refused["reason"].startswith(
        "2026-08-05T10:00:00Z is after the latest accepted event time (window "
    )
    assert " .. 2026-08-03T10:00:00Z;" in refused["reason"]
