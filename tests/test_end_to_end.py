"""Generated demo platform -> ingest -> build -> API, checked against figures computed
here, independently, from the generated NDJSON lines."""

import gzip
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest

from orchestration.runner import landed_days, run_build
from ringside.core.settings import Settings
from tests.api_client import api_client
from tests.platforms import built_platform

TIMEOUT = timedelta(minutes=30)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def event_time(event: dict) -> datetime:
    """docs/events.md: receivedAt - (sentAt - timestamp) when both are sent."""
    received = parse_time(event["receivedAt"])
    if event.get("timestamp") and event.get("sentAt"):
        return received - (parse_time(event["sentAt"]) - parse_time(event["timestamp"]))
    return parse_time(event["timestamp"]) if event.get("timestamp") else received


def is_crawler(event: dict) -> bool:
    """Crawlers are left out of the marts; their user agents say so."""
    agent = ((event.get("context") or {}).get("userAgent") or "").lower()
    return any(word in agent for word in ("bot", "crawler", "spider"))


def landed_events(out: Path, quarantined: set[tuple[str, int]]) -> dict[str, dict]:
    """First copy of every event line that was not quarantined, by messageId (crawlers
    left out)."""
    events: dict[str, dict] = {}
    for path in sorted((out / "events").glob("*.ndjson.gz")):
        with gzip.open(path, "rt") as lines:
            for number, line in enumerate(lines, start=1):
                if (str(path), number) in quarantined:
                    continue
                event = json.loads(line)
                if is_crawler(event):
                    continue
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


@dataclass
class Reference:
    """docs/metrics.md recomputed in plain Python over the landed events."""

    daily: dict[str, dict[str, int]]  # overview figures per day
    sessions_per_day: dict[str, int]
    bounces_per_day: dict[str, int]
    dau: dict[str, int]
    mau: dict[str, int]
    content_views: dict[tuple[str, str], tuple[int, int]]  # (content, day) -> views, unique


def reference(events: dict[str, dict]) -> Reference:
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
    active: dict[date, set[str]] = defaultdict(set)
    viewers: dict[tuple[str, str], list[str]] = defaultdict(list)
    # session state per (device, client session id): last time, campaign, session number
    last_seen: dict[tuple[str, str | None], tuple[datetime, str | None, int]] = {}
    sessions: list[dict] = []
    for e in ordered:
        if e["type"] == "alias":  # links ids (above); no activity, no session
            continue
        day_key = e["_time"].date().isoformat()
        day = daily[day_key]
        day["events"] += 1
        is_view = e["type"] in ("page", "screen")
        day["page_views"] += is_view
        if e.get("event") != "Page Heartbeat":
            day["users"].add(stitched(e))
            active[e["_time"].date()].add(stitched(e))
        content_id = (e.get("properties") or {}).get("content_id")
        if is_view and content_id:
            viewers[(content_id, day_key)].append(stitched(e))
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
        if starts:
            sessions.append({"day": day_key, "views": 0, "interactions": 0})
            number = len(sessions) - 1
        else:
            number = previous[2]
        sessions[number]["views"] += is_view
        sessions[number]["interactions"] += (
            e["type"] == "track" and e.get("event") != "Page Heartbeat"
        )
        day["sessions"] += starts
        last_seen[key] = (e["_time"], session_utm, number)

    days = sorted(active)
    first, last = days[0], days[-1]
    every_day = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return Reference(
        daily={d: {**v, "users": len(v["users"])} for d, v in sorted(daily.items())},
        sessions_per_day=dict(Counter(s["day"] for s in sessions)),
        bounces_per_day=dict(
            Counter(s["day"] for s in sessions if s["views"] == 1 and s["interactions"] == 0)
        ),
        dau={d.isoformat(): len(active[d]) for d in every_day},
        mau={
            d.isoformat(): len(set().union(*(active[d - timedelta(days=k)] for k in range(28))))
            for d in every_day
        },
        content_views={key: (len(users), len(set(users))) for key, users in viewers.items()},
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    # Built once for the module; its own RINGSIDE_HOME, restored afterwards.
    root = tmp_path_factory.mktemp("e2e")
    with built_platform(root, days=10, users=400, seed=11) as platform:
        yield {
            "settings": platform.settings,
            "summary": platform.summary,
            "report": platform.report,
        }


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
    expected = reference(events).daily
    first, last = min(expected), max(expected)
    response = api_client().get("/api/analytics/overview/", params={"start": first, "end": last})
    assert response.status_code == 200
    served = {
        d["date"]: {k: d[k] for k in ("events", "users", "sessions", "page_views")}
        for d in response.json()["days"]
    }
    assert served == expected
    with duckdb.connect(str(settings.layout.serving_path), read_only=True) as con:
        built_events = con.execute("select count(*) from fct_events").fetchone()[0]
    assert built_events == sum(1 for e in events.values() if e["type"] != "alias")


def test_rebuilding_a_day_changes_nothing(built: dict):
    settings = built["settings"]
    with duckdb.connect(str(settings.layout.serving_path), read_only=True) as con:
        before = con.execute("select * from mart_overview_daily order by 1").fetchall()
    day = date.fromisoformat(str(before[len(before) // 2][0]))
    run_build([day])
    with duckdb.connect(str(settings.layout.serving_path), read_only=True) as con:
        after = con.execute("select * from mart_overview_daily order by 1").fetchall()
    assert after == before
    # Each build kept dbt's results in a directory of its own; the first build of the
    # home ran the dbt unit tests, this micro-batch did not.
    first, *_, rebuild = sorted(settings.layout.dbt_runs_dir.iterdir())
    unit_tests = [
        sum(r["unique_id"].startswith("unit_test.") for r in results["results"])
        for results in (
            json.loads((run / "run_results.json").read_text()) for run in (first, rebuild)
        )
    ]
    assert unit_tests[0] > 0 and unit_tests[1] == 0


def test_a_build_with_nothing_new_finds_nothing_to_do(built: dict):
    settings = built["settings"]
    version = settings.layout.data_version_path.read_text()
    build = subprocess.run(
        [str(Path(sys.executable).parent / "ringside"), "build"],
        env={**os.environ, "RINGSIDE_HOME": str(settings.home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr
    assert "nothing new since the last build" in build.stdout
    assert settings.layout.data_version_path.read_text() == version  # nothing published


def test_api_keeps_answering_while_a_build_runs(built: dict):
    settings = built["settings"]
    day = landed_days(settings.layout)[1]
    client = api_client()
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


def test_behaviour_marts_match_an_independent_recomputation(built: dict):
    settings = built["settings"]
    expected = reference(landed_events(built["summary"].out, quarantined_lines(settings)))
    with duckdb.connect(str(settings.layout.serving_path), read_only=True) as con:
        sessions = dict(
            con.execute(
                "select cast(session_date as varchar), count(*) from fct_sessions group by 1"
            ).fetchall()
        )
        bounces = dict(
            con.execute(
                "select cast(session_date as varchar), count(*) from fct_sessions "
                "where is_bounce group by 1"
            ).fetchall()
        )
        dau_mau = con.execute(
            "select cast(activity_date as varchar), daily_active_users, monthly_active_users "
            "from mart_active_users_daily where device_type = 'all'"
        ).fetchall()
        content_daily = {
            (content, str(day)): (n, unique)
            for content, day, n, unique in con.execute(
                "select content_id, activity_date, views, unique_views "
                "from mart_content_performance_daily where views > 0"
            ).fetchall()
        }
        views = {
            (content, str(day)): (n, unique)
            for content, day, n, unique in con.execute(
                "select content_id, view_date, count(*), count(distinct stitched_user_id) "
                "from fct_page_views where content_id is not null group by 1, 2"
            ).fetchall()
        }
    assert sessions == expected.sessions_per_day
    assert bounces == expected.bounces_per_day
    assert views == expected.content_views
    assert content_daily == expected.content_views
    assert {day: dau for day, dau, _ in dau_mau} == expected.dau
    assert {day: mau for day, _, mau in dau_mau} == expected.mau


def test_content_api_totals_match_the_recomputation(built: dict):
    settings = built["settings"]
    expected = reference(landed_events(built["summary"].out, quarantined_lines(settings)))
    days = sorted({day for _, day in expected.content_views})
    views: Counter[str] = Counter()
    for (content, _), (n, _) in expected.content_views.items():
        views[content] += n
    client = api_client()
    params = {"start": days[0], "end": days[-1], "limit": 1000}
    body = client.get("/api/analytics/content/", params=params).json()
    assert body["total"] == len(views)
    assert {item["content_id"]: item["views"] for item in body["items"]} == dict(views)
    served = [item["views"] for item in body["items"]]
    assert served == sorted(served, reverse=True)

    videos = client.get(
        "/api/analytics/content/", params={**params, "content_type": "video", "order": "asc"}
    ).json()["items"]
    assert videos and {item["content_type"] for item in videos} == {"video"}
    assert [i["views"] for i in videos] == sorted(i["views"] for i in videos)


def test_users_api_pages_through_every_active_user(built: dict):
    settings = built["settings"]
    expected = reference(landed_events(built["summary"].out, quarantined_lines(settings)))
    first, last = min(expected.dau), max(expected.dau)
    client = api_client()
    seen: list[str] = []
    scores: list[float] = []
    offset = 0
    while True:
        body = client.get(
            "/api/analytics/users/",
            params={"start": first, "end": last, "limit": 100, "offset": offset},
        ).json()
        if not body["items"]:
            break
        seen += [item["stitched_user_id"] for item in body["items"]]
        scores += [item["engagement_score"] for item in body["items"]]
        offset += 100
    assert len(seen) == len(set(seen)) == body["total"]
    assert scores == sorted(scores, reverse=True)
    assert (
        client.get(
            "/api/analytics/users/", params={"start": first, "end": last, "sort": "password"}
        ).status_code
        == 422
    )


def test_every_model_and_column_is_documented(built: dict, tmp_path: Path):
    """Documentation coverage, held by a test: each model and each column the warehouse
    actually has carries a description in yml (what `ringside docs` shows)."""
    from orchestration.dbt_project import DBT_EXECUTABLE, DBT_PROJECT_DIR

    layout = built["settings"].layout
    served = str(layout.serving_path.resolve())
    subprocess.run(
        [DBT_EXECUTABLE, "--quiet", "docs", "generate", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path)],
        # The catalog of the served generation (the other one may be a build behind).
        env={**os.environ, **layout.dbt_env(), "RINGSIDE_DUCKDB_PATH": served},
        check=True,
        timeout=300,
    )  # fmt: skip
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    models = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}
    assert len(models) >= 18
    gaps = []
    for key, model in models.items():
        documented = {name.lower() for name, c in model["columns"].items() if c["description"]}
        built_columns = set(catalog["nodes"][key]["columns"])
        if not model["description"]:
            gaps.append(model["name"])
        gaps += [f"{model['name']}.{c}" for c in sorted(built_columns - documented)]
    assert gaps == []


def test_a_build_reads_only_the_files_landed_since_the_last_one(built: dict, tmp_path: Path):
    """Last in the module: it adds events. A late event of an old day and one of a new
    day land in new files; the next build stages both, once, reading only those files."""
    from ingestion.batch import ingest_paths

    settings = built["settings"]
    layout = settings.layout
    days = landed_days(layout)
    old_day, new_day = days[2], days[-1] + timedelta(days=1)
    late = [
        {
            "messageId": f"late-{day}",
            "type": "page",
            "anonymousId": "late-device",
            "timestamp": f"{day}T12:00:00Z",
            "properties": {"path": "/late"},
        }
        for day in (old_day, new_day)
    ]
    source = tmp_path / "late.ndjson"
    source.write_text("".join(json.dumps(event) + "\n" for event in late))
    before = {path for paths in layout.landed_event_files().values() for path in paths}
    ingest_paths([source], layout, settings)
    landed = {path for paths in layout.landed_event_files().values() for path in paths} - before

    outcome = run_build()
    assert outcome.days[-2:] == [old_day, new_day]
    with duckdb.connect(str(layout.serving_path), read_only=True) as con:
        staged = con.execute(
            "select message_id, count(*) from fct_events where device_id = 'late-device' "
            "group by 1 order by 1"
        ).fetchall()
    assert staged == [(f"late-{old_day}", 1), (f"late-{new_day}", 1)]
    # The SQL dbt ran for staging names exactly the new files.
    newest = max(layout.dbt_runs_dir.iterdir())
    (sql,) = newest.glob("compiled/**/stg_tracking__events.sql")
    read = set(re.findall(r"'([^']+\.parquet)'", sql.read_text()))
    assert {Path(path) for path in read} == landed and len(landed) == 2
    # The first build of each generation parsed the project; the per-build values (these
    # files, the days, the stamp) are not dbt vars, so this later build started from
    # that parse and dbt parsed nothing again.
    assert len(list(layout.dbt_runs_dir.iterdir())) >= 3
    assert "no changes found, skipping parsing" in (newest / "dbt.log").read_text()
