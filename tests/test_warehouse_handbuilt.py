"""Hand-built events whose daily figures are derived by hand, pushed through the real
pipeline: NDJSON file -> ingestion -> Dagster/dbt build -> served warehouse -> API."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from fastapi.testclient import TestClient

from api.main import create_app
from ingestion.batch import ingest_paths
from orchestration.runner import run_build
from ringside.core.settings import Settings
from tests.api_client import api_client

WEB_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
IOS_UA = "RingsideApp/3.1 (iPhone; iOS 17.5; Scale/3.00)"


def event(mid: str, kind: str, ts: str, anon: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "messageId": mid,
        "type": kind,
        "anonymousId": anon,
        "timestamp": ts,
        "sentAt": ts,
        "receivedAt": ts,
        "context": {"userAgent": WEB_UA, "ip": "203.0.113.77"},
    }
    body.update(extra)
    return body


def heartbeat(mid: str, ts: str, anon: str) -> dict[str, object]:
    return event(
        mid,
        "track",
        ts,
        anon,
        event="Page Heartbeat",
        properties={"content_id": "x", "seconds": 10},
    )


def skewed_screen(mid: str, true_ts: str, client_ts: str, client_sent: str) -> dict[str, object]:
    # Device d2's clock runs 2 h fast: event time = receivedAt - (sentAt - timestamp).
    return event(
        mid,
        "screen",
        client_ts,
        "d2",
        sentAt=client_sent,
        receivedAt=true_ts,
        context={"userAgent": IOS_UA, "sessionId": "s-1"},
    )


EVENTS = [
    # d1, web. Session A starts 23:50 on Aug 3 and crosses midnight (gaps 5 and 25 min).
    event("e1", "page", "2026-08-03T23:50:00Z", "d1"),
    event("e2", "page", "2026-08-03T23:55:00Z", "d1"),
    heartbeat("e3", "2026-08-03T23:55:10Z", "d1"),
    event("e4", "page", "2026-08-04T00:20:00Z", "d1"),
    # 40 min gap -> session B; the identify stitches d1 to u1 retroactively.
    event("e5", "page", "2026-08-04T01:00:00Z", "d1"),
    event("e6", "identify", "2026-08-04T01:01:00Z", "d1", userId="u1"),
    # A new campaign -> session C, although only 4 minutes passed.
    event(
        "e7",
        "page",
        "2026-08-04T01:05:00Z",
        "d1",
        context={
            "userAgent": WEB_UA,
            "campaign": {"source": "newsletter", "medium": "email", "name": "ufc-310"},
        },
    ),
    event("e8", "page", "2026-08-04T01:06:00Z", "d1"),
    # d2, app with a client session id: one session despite a 60 min gap.
    skewed_screen("e9", "2026-08-04T10:00:05Z", "2026-08-04T12:00:00Z", "2026-08-04T12:00:05Z"),
    skewed_screen("e10", "2026-08-04T11:00:05Z", "2026-08-04T13:00:00Z", "2026-08-04T13:00:05Z"),
    event(
        "e11",
        "track",
        "2026-08-04T11:00:10Z",
        "d2",
        event="Page Heartbeat",
        properties={"content_id": "x", "seconds": 10},
        context={"userAgent": IOS_UA, "sessionId": "s-1"},
    ),
    # d3 only sends a heartbeat: its events count, but it is not an active user.
    heartbeat("e12", "2026-08-04T12:00:00Z", "d3"),
]
DUPLICATE_OF_E2 = EVENTS[1]
INVALID = {
    "messageId": "bad1",
    "type": "track",
    "anonymousId": "d9",
    "timestamp": "2026-08-04T09:00:00Z",
}  # a track call without `event`

# Derived by hand from the comments above.
EXPECTED = {
    "2026-08-03": {"events": 3, "users": 1, "sessions": 1, "page_views": 2},
    "2026-08-04": {"events": 9, "users": 2, "sessions": 4, "page_views": 6},
}


def write_ndjson(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def served_overview(settings: Settings) -> dict[str, dict[str, int]]:
    client = api_client()
    response = client.get(
        "/api/analytics/overview/", params={"start": "2026-08-01", "end": "2026-08-31"}
    )
    assert response.status_code == 200, response.text
    return {
        day["date"]: {k: day[k] for k in ("events", "users", "sessions", "page_views")}
        for day in response.json()["days"]
    }


def test_handbuilt_events_give_hand_derived_daily_figures(settings: Settings, tmp_path: Path):
    source = write_ndjson(tmp_path / "events.ndjson", [*EVENTS, DUPLICATE_OF_E2, INVALID])
    report = ingest_paths([source], settings.layout.ensure(), settings)
    assert report.accepted == 13 and report.quarantined == 1

    run_build([date(2026, 8, 3), date(2026, 8, 4)])
    assert served_overview(settings) == EXPECTED

    with duckdb.connect(str(settings.layout.serving_path), read_only=True) as con:
        sessions = dict(
            con.execute(
                "select message_id, session_id from fct_events order by message_id"
            ).fetchall()
        )
        owners = dict(con.execute("select message_id, stitched_user_id from fct_events").fetchall())
        event_time = con.execute(
            "select event_time from stg_tracking__events where message_id = 'e9'"
        ).fetchone()[0]
    assert sessions["e1"] == sessions["e2"] == sessions["e3"] == sessions["e4"]
    assert sessions["e5"] == sessions["e6"] != sessions["e4"]
    assert sessions["e7"] == sessions["e8"] != sessions["e5"]
    assert sessions["e9"] == sessions["e10"] == sessions["e11"]
    assert {owners[m] for m in ("e1", "e4", "e8")} == {"u1"}
    assert owners["e9"] == "d2"
    assert event_time.isoformat() == "2026-08-04T10:00:00"


def test_rebuilding_and_reingesting_is_idempotent(settings: Settings, tmp_path: Path):
    source = write_ndjson(tmp_path / "events.ndjson", [*EVENTS, DUPLICATE_OF_E2, INVALID])
    layout = settings.layout.ensure()
    ingest_paths([source], layout, settings)
    run_build([date(2026, 8, 3), date(2026, 8, 4)])
    first = served_overview(settings)

    # The same file again is skipped; forced, every event lands a second time in raw,
    # and staging still holds each message_id once.
    again = ingest_paths([source], layout, settings)
    assert again.accepted == 0
    forced = ingest_paths([source], layout, settings, force=True)
    assert forced.accepted == 13
    run_build([date(2026, 8, 4)])
    assert served_overview(settings) == first == EXPECTED
    with duckdb.connect(str(layout.serving_path), read_only=True) as con:
        staged, distinct = con.execute(
            "select count(*), count(distinct message_id) from stg_tracking__events"
        ).fetchone()
    assert staged == distinct == 12


def test_a_batch_posted_twice_is_staged_once(settings: Settings):
    client = TestClient(create_app())
    batch = {"batch": [*EVENTS, INVALID]}
    for _ in range(2):
        response = client.post("/v1/batch", json=batch, auth=("demo-write-key", ""))
        assert response.status_code == 200
        body = response.json()
        assert body["accepted"] == 12
        assert [(r["index"], r["field"]) for r in body["rejected"]] == [(12, "event")]

    # Over HTTP receivedAt is the server's clock, so these events happened just now.
    today = datetime.now(UTC).date()
    run_build([today - timedelta(days=1), today])
    with duckdb.connect(str(settings.layout.serving_path), read_only=True) as con:
        staged, distinct = con.execute(
            "select count(*), count(distinct message_id) from stg_tracking__events"
        ).fetchone()
        landed = con.execute(
            f"select count(*) from read_parquet('{settings.layout.raw_events_glob}')"
        ).fetchone()[0]
    assert landed == 24
    assert staged == distinct == 12
