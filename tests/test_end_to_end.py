"""Generated demo platform -> ingest -> build -> API, checked against figures computed
here, independently, from the generated NDJSON lines."""

import gzip
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from ingestion.batch import ingest_paths
from orchestration.runner import landed_range, run_build
from ringside.demo.generator import generate
from ringside.settings import Settings

TIMEOUT = timedelta(minutes=30)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def event_time(event: dict) -> datetime:
    """events.md: receivedAt - (sentAt - timestamp) when both are sent."""
    received = parse_time(event["receivedAt"])
    if event.get("timestamp") and event.get("sentAt"):
        return received - (parse_time(event["sentAt"]) - parse_time(event["timestamp"]))
    return parse_time(event["timestamp"]) if event.get("timestamp") else received


def landed_events(out: Path, quarantined: set[tuple[str, int]]) -> dict[str, dict]:
    """First copy of every event line that was not quarantined, by messageId."""
    events: dict[str, dict] = {}
    for path in sorted((out / "events").glob("*.ndjson.gz")):
        with gzip.open(path, "rt") as lines:
            for number, line in enumerate(lines, start=1):
                if (str(path), number) in quarantined:
                    continue
                event = json.loads(line)
                event["_time"] = event_time(event)
                known = events.get(event["messageId"])
                if known is None or event["receivedAt"] < known["receivedAt"]:
                    events[event["messageId"]] = event
    return events


def campaign_key(context: dict) -> str | None:
    """utm_source|utm_campaign from context.campaign, else from the page URL's query."""
    campaign = context.get("campaign") or {}
    source, name = campaign.get("source"), campaign.get("name")
    if not campaign:
        query = parse_qs(urlparse((context.get("page") or {}).get("url") or "").query)
        source = (query.get("utm_source") or [None])[0]
        name = (query.get("utm_campaign") or [None])[0]
    return f"{source or ''}|{name or ''}" if source or name else None


def expected_daily(events: dict[str, dict]) -> dict[str, dict[str, int]]:
    """metrics.md, computed in plain Python: stitching, sessions, activity."""
    ordered = sorted(events.values(), key=lambda e: (e["_time"], e["messageId"]))
    device_of = {id(e): e.get("anonymousId") or f"user:{e['userId']}" for e in ordered}
    owner: dict[str, str] = {}
    user_alias: dict[str, str] = {}
    for e in ordered:  # chronological, so the last assignment is the latest
        if e["type"] == "alias":
            owner[e["previousId"]] = e["userId"]
            user_alias[e["previousId"]] = e["userId"]
        elif e.get("anonymousId") and e.get("userId"):
            owner[e["anonymousId"]] = e["userId"]

    def stitched(e: dict) -> str:
        mapped = owner.get(device_of[id(e)])
        if mapped is not None:
            return user_alias.get(mapped, mapped)
        return e.get("userId") or device_of[id(e)]

    daily: dict[str, dict] = defaultdict(
        lambda: {"events": 0, "users": set(), "sessions": 0, "page_views": 0}
    )
    last_seen: dict[tuple[str, str | None], tuple[datetime, str | None]] = {}
    for e in ordered:
        day = daily[e["_time"].date().isoformat()]
        day["events"] += 1
        day["page_views"] += e["type"] in ("page", "screen")
        if e.get("event") != "Page Heartbeat":
            day["users"].add(stitched(e))
        context = e.get("context") or {}
        client_session = context.get("sessionId") or (e.get("properties") or {}).get("session_id")
        key = (device_of[id(e)], client_session)
        utm = campaign_key(context)
        previous = last_seen.get(key)
        if client_session is not None:
            starts = previous is None
            session_utm = None
        else:
            starts = previous is None or e["_time"] - previous[0] > TIMEOUT
            session_utm = None if starts else previous[1]
            if not starts and utm is not None and utm != session_utm:
                starts = True
            if utm is not None:
                session_utm = utm
        day["sessions"] += starts
        last_seen[key] = (e["_time"], session_utm)
    return {d: {**v, "users": len(v["users"])} for d, v in sorted(daily.items())}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    # Built once for the module; its own RINGSIDE_HOME, restored afterwards.
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("e2e")
    settings = Settings(home=root / "home")
    from ringside.settings import get_settings

    mp.setenv("RINGSIDE_HOME", str(settings.home))
    mp.setenv("DAGSTER_HOME", str(settings.home / "dagster"))
    for name, value in settings.layout.dbt_env().items():
        mp.setenv(name, value)
    get_settings.cache_clear()
    summary = generate(root / "platform", days=10, users=400, seed=11)
    report = ingest_paths([summary.out], settings.layout.ensure(), settings, workers=2)
    first, last = landed_range(settings.layout)
    run_build(first, last)
    yield {"settings": get_settings(), "summary": summary, "report": report}
    get_settings.cache_clear()
    mp.undo()


def quarantined_lines(settings: Settings) -> set[tuple[str, int]]:
    rows = duckdb.sql(
        f"select source_ref, batch_index from read_parquet('{settings.layout.quarantine_glob}')"
    ).fetchall()
    return {(ref, int(index)) for ref, index in rows}


def test_nothing_is_lost(built: dict):
    summary, report, settings = built["summary"], built["report"], built["settings"]
    event_lines = sum(f.lines for f in report.files if f.kind == "events")
    assert event_lines == summary.events_written
    quarantined = quarantined_lines(settings)
    assert len(quarantined) == report.quarantined > 0
    assert report.accepted + report.quarantined == report.lines


def test_marts_match_figures_computed_from_the_generated_files(built: dict):
    settings = built["settings"]
    events = landed_events(built["summary"].out, quarantined_lines(settings))
    expected = expected_daily(events)
    first, last = min(expected), max(expected)
    response = TestClient(create_app()).get(
        "/api/analytics/overview/", params={"start": first, "end": last}
    )
    assert response.status_code == 200
    served = {
        d["date"]: {k: d[k] for k in ("events", "users", "sessions", "page_views")}
        for d in response.json()["days"]
    }
    assert served == expected
    with duckdb.connect(str(settings.layout.serving_path), read_only=True) as con:
        staged = con.execute("select count(*) from stg_tracking__events").fetchone()[0]
    assert staged == len(events)


def test_rebuilding_a_day_changes_nothing(built: dict):
    settings = built["settings"]
    with duckdb.connect(str(settings.layout.serving_path), read_only=True) as con:
        before = con.execute("select * from mart_overview_daily order by 1").fetchall()
    day = date.fromisoformat(str(before[len(before) // 2][0]))
    run_build(day, day)
    with duckdb.connect(str(settings.layout.serving_path), read_only=True) as con:
        after = con.execute("select * from mart_overview_daily order by 1").fetchall()
    assert after == before


def test_api_keeps_answering_while_a_build_runs(built: dict):
    settings = built["settings"]
    day = landed_range(settings.layout)[1]
    client = TestClient(create_app())
    build = subprocess.Popen(
        [str(Path(sys.executable).parent / "ringside"), "build", "--partition", day.isoformat()],
        env={**os.environ, "RINGSIDE_HOME": str(settings.home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    statuses: list[int] = []
    while build.poll() is None:
        response = client.get(
            "/api/analytics/overview/", params={"start": day.isoformat(), "end": day.isoformat()}
        )
        statuses.append(response.status_code)
    assert build.returncode == 0, build.stderr.read()
    assert len(statuses) > 20
    assert set(statuses) == {200}
