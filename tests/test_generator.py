"""Tests of the demo-platform generator, checked only through the files it writes.

Every expectation is recomputed here from the output (docs/events.md's rules re-implemented
independently), never taken from the generator's internals.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from ringside.demo import GenerateSummary, generate

START = date(2026, 8, 1)
DAYS = 28
USERS = 2000
SEED = 11

ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
TYPES = {"track", "page", "screen", "identify", "alias"}
# event -> required property keys (docs/events.md, tracking plan)
TRACKING_PLAN = {
    "Page Heartbeat": {"content_id", "seconds"},
    "Products Searched": {"query", "results_count"},
    "Search Result Clicked": {"query", "position", "content_type", "content_id"},
    "Content Shared": {"content_type", "content_id", "network"},
    "Content Liked": {"content_type", "content_id"},
    "Comment Posted": {"content_type", "content_id"},
    "Video Playback Started": {"content_id", "position"},
    "Video Content Completed": {"content_id", "watched_seconds"},
    "Signed Up": {"method"},
    "Subscription Started": {"plan", "revenue", "currency"},
    "Subscription Cancelled": {"plan", "reason"},
    "Order Completed": {"order_id", "revenue", "currency", "products"},
    "Experiment Viewed": {"experiment_id", "variant"},
}
TRAITS = {"email", "name", "country", "created_at", "plan"}


def violation(line: bytes) -> str | None:
    """The first rule of the event contract ``line`` breaks, or None if it is valid."""
    if len(line) > 32 * 1024:
        return "size"
    try:
        ev = json.loads(line)
    except ValueError:
        return "json"
    if not isinstance(ev, dict):
        return "json"
    mid = ev.get("messageId")
    if not isinstance(mid, str) or not 1 <= len(mid) <= 100:
        return "messageId"
    if ev.get("type") not in TYPES:
        return "type"
    if ev["type"] == "track":
        name = ev.get("event")
        if not isinstance(name, str) or not 1 <= len(name) <= 200:
            return "event"
    ids = [ev.get(k) for k in ("anonymousId", "userId")]
    if not any(isinstance(i, str) and 0 < len(i) <= 100 for i in ids):
        return "ids"
    if ev["type"] == "alias" and not (isinstance(ev.get("previousId"), str) and ev["previousId"]):
        return "previousId"
    for key in ("timestamp", "sentAt"):
        if key in ev and not (isinstance(ev[key], str) and ISO_WITH_OFFSET.match(ev[key])):
            return key
    for key in ("properties", "traits", "context"):
        if key in ev and not isinstance(ev[key], dict):
            return key
    return None


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def event_time(ev: dict[str, Any]) -> datetime:
    """Skew-corrected time: receivedAt - (sentAt - timestamp)."""
    return ts(ev["receivedAt"]) - (ts(ev["sentAt"]) - ts(ev["timestamp"]))


@dataclass
class Line:
    file_day: date
    raw: bytes
    ev: dict[str, Any] | None  # None when the line breaks the contract
    reason: str | None

    @property
    def event_time(self) -> datetime:
        assert self.ev is not None
        return event_time(self.ev)


@dataclass
class Output:
    summary: GenerateSummary
    lines: list[Line]
    content: dict[str, dict[str, Any]]
    accounts: dict[str, dict[str, Any]]
    manifest: dict[str, Any]

    @property
    def valid(self) -> list[dict[str, Any]]:
        return [line.ev for line in self.lines if line.ev is not None]


def read_output(out: Path, summary: GenerateSummary) -> Output:
    lines = []
    for path in sorted((out / "events").glob("*.ndjson.gz")):
        day = date.fromisoformat(path.name[:10])
        with gzip.open(path) as f:
            for raw in f.read().split(b"\n")[:-1]:
                reason = violation(raw)
                lines.append(Line(day, raw, None if reason else json.loads(raw), reason))
    content = {}
    for row in (out / "snapshots" / "content.ndjson").read_text().splitlines():
        item = json.loads(row)
        content[item["content_id"]] = item
    accounts = {}
    for row in (out / "snapshots" / "accounts.ndjson").read_text().splitlines():
        account = json.loads(row)
        accounts[account["user_id"]] = account
    manifest = json.loads((out / "manifest.json").read_text())
    return Output(summary, lines, content, accounts, manifest)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Output:
    out = tmp_path_factory.mktemp("demo")
    summary = generate(out, days=DAYS, users=USERS, seed=SEED, start=START)
    return read_output(out, summary)


def file_bytes(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


# -- arguments, layout, determinism -----------------------------------------------------------


@pytest.mark.parametrize(("days", "users"), [(0, 10), (-3, 10), (5, 0), (5, -1)])
def test_rejects_bad_arguments(tmp_path: Path, days: int, users: int) -> None:
    with pytest.raises(ValueError, match=r"days|users"):
        generate(tmp_path, days=days, users=users)


def test_layout_and_manifest(run: Output) -> None:
    out = run.summary.out
    expected_days = [START + timedelta(days=i) for i in range(DAYS)]
    event_files = sorted((out / "events").glob("*"))
    assert [p.name for p in event_files] == [f"{d.isoformat()}.ndjson.gz" for d in expected_days]
    assert set(run.summary.files) == {
        *event_files,
        out / "snapshots" / "content.ndjson",
        out / "snapshots" / "accounts.ndjson",
        out / "manifest.json",
    }
    assert len(run.lines) == run.summary.events_written
    assert run.summary.content_items == len(run.content)
    assert run.summary.accounts == len(run.accounts)
    m = run.manifest
    assert (m["days"], m["users"], m["seed"], m["start"]) == (DAYS, USERS, SEED, "2026-08-01")
    for key in ("events_written", "invalid_events", "duplicate_events", "late_events"):
        assert m[key] == getattr(run.summary, key)
    assert sorted(m["files"]) == sorted(str(p.relative_to(out)) for p in run.summary.files)


def test_same_arguments_same_bytes_other_seed_differs(run: Output, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", days=DAYS, users=USERS, seed=SEED, start=START)
    first = file_bytes(run.summary.out)
    assert file_bytes(again.out) == first
    other = generate(tmp_path / "other", days=DAYS, users=USERS, seed=SEED + 1, start=START)
    other_bytes = file_bytes(other.out)
    assert other_bytes.keys() == first.keys()
    assert other_bytes["events/2026-08-03.ndjson.gz"] != first["events/2026-08-03.ndjson.gz"]


# -- the event contract -------------------------------------------------------------------------


def test_invalid_lines_are_counted_and_varied(run: Output) -> None:
    for line in run.lines:
        line.raw.decode()  # even a truncated line is still UTF-8 text
    reasons = Counter(line.reason for line in run.lines if line.reason)
    assert sum(reasons.values()) == run.summary.invalid_events
    assert 0.002 <= run.summary.invalid_events / run.summary.events_written <= 0.015
    # Several different rules are exercised, not one kind of breakage.
    assert len(reasons) >= 6, reasons
    assert reasons["json"] > 0 and reasons["size"] > 0


def test_valid_events_follow_the_contract(run: Output) -> None:
    for line in run.lines:
        ev = line.ev
        if ev is None:
            continue
        for key in ("timestamp", "sentAt", "receivedAt"):
            assert ISO_WITH_OFFSET.match(ev[key]), ev
        # Clients send after the fact; the server stamps arrival on the file's day
        # (a re-exported duplicate keeps its first arrival, a day earlier at most).
        assert ts(ev["sentAt"]) >= ts(ev["timestamp"])
        received = ts(ev["receivedAt"]).date()
        assert line.file_day - timedelta(days=1) <= received <= line.file_day
        assert line.event_time <= ts(ev["receivedAt"])
        assert isinstance(ev["context"], dict) and ev["context"]["library"]["name"] in {
            "analytics.js",
            "analytics-ios",
            "analytics-android",
        }
        is_app = ev["context"]["library"]["name"] != "analytics.js"
        # Only app events carry a client session id; only web events have page context.
        assert ("sessionId" in ev["context"]) == is_app
        assert ("page" in ev["context"]) == (not is_app)
        if ev["type"] in ("page", "screen"):
            assert ev["type"] == ("screen" if is_app else "page")
            props = ev["properties"]
            assert isinstance(ev["name"], str) and props["path"].startswith("/")
            assert ("content_id" in props) == ("content_type" in props)
            if "content_id" in props:
                assert props["content_id"].split(":")[0] == props["content_type"]
        if ev["type"] == "track":
            assert ev["event"] in TRACKING_PLAN, ev["event"]
            assert TRACKING_PLAN[ev["event"]] <= ev["properties"].keys(), ev
        if ev["type"] == "identify":
            assert ev["userId"] and ev["traits"].keys() >= TRAITS
        if ev["type"] == "alias":
            assert ev["previousId"] and ev["userId"]


def test_every_tracking_plan_event_is_present(run: Output) -> None:
    kinds = Counter(ev["event"] if ev["type"] == "track" else ev["type"] for ev in run.valid)
    for name in (*TRACKING_PLAN, "page", "screen", "identify", "alias"):
        assert kinds[name] > 0, f"no {name} events"
    # Heartbeats report 10 s chunks plus a final partial one.
    seconds = Counter(
        ev["properties"]["seconds"] for ev in run.valid if ev.get("event") == "Page Heartbeat"
    )
    assert seconds.most_common(1)[0][0] == 10 and set(seconds) <= set(range(1, 11))


def test_duplicates_repeat_earlier_lines_verbatim(run: Output) -> None:
    first: dict[str, Line] = {}
    same_file = next_files = 0
    for line in run.lines:
        if line.ev is None:
            continue
        earlier = first.get(line.ev["messageId"])
        if earlier is None:
            first[line.ev["messageId"]] = line
            continue
        assert earlier.raw == line.raw
        if earlier.file_day == line.file_day:
            same_file += 1
        else:
            next_files += 1
    assert same_file + next_files == run.summary.duplicate_events
    assert same_file > 0 and next_files > 0
    assert 0.0005 <= run.summary.duplicate_events / run.summary.events_written <= 0.005


def test_late_events_land_in_a_later_file(run: Output) -> None:
    late = [
        line.ev
        for line in run.lines
        if line.ev is not None and line.event_time.date() < line.file_day
    ]
    assert len(late) == run.summary.late_events
    # Beyond events just past midnight, some devices were offline for a day or more.
    offline = [ev for ev in late if ts(ev["sentAt"]) - ts(ev["timestamp"]) > timedelta(hours=12)]
    assert offline
    assert len(late) / run.summary.events_written < 0.02


def test_clock_skew_and_offsets(run: Output) -> None:
    """Some device clocks are off (sentAt far from receivedAt without being offline) and
    some SDKs write local times with an offset."""
    skewed = {
        ev["anonymousId"]
        for ev in run.valid
        if abs(ts(ev["sentAt"]) - ts(ev["receivedAt"])) > timedelta(minutes=1)
        and ts(ev["sentAt"]) - ts(ev["timestamp"]) < timedelta(minutes=1)
    }
    devices = {ev["anonymousId"] for ev in run.valid}
    assert 0.01 < len(skewed) / len(devices) < 0.15
    assert any(not ev["timestamp"].endswith("Z") for ev in run.valid)


# -- behaviour ------------------------------------------------------------------------------------


def test_fight_nights_spike(run: Output) -> None:
    nights = [date.fromisoformat(d) for d in run.manifest["fight_nights"]]
    assert nights and all(n.weekday() == 5 for n in nights)
    per_day = Counter(line.file_day for line in run.lines)
    median = statistics.median(per_day.values())
    for night in nights:
        assert per_day[night] > 2 * median
    orders = [ev for ev in run.valid if ev.get("event") == "Order Completed"]
    near = [
        ev for ev in orders if any(0 <= (n - ts(ev["receivedAt"]).date()).days <= 1 for n in nights)
    ]
    assert len(near) >= 0.9 * len(orders)
    for ev in orders:
        product = ev["properties"]["products"][0]
        assert run.content[product["product_id"]]["content_type"] == "fight_event"
        assert ev["properties"]["revenue"] == product["price"] > 0


def test_identity_links_devices_to_users(run: Output) -> None:
    by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ev in run.valid:
        by_device[ev["anonymousId"]].append(ev)
    anonymous_then_identified = 0
    for events in by_device.values():
        events.sort(key=event_time)
        identifies = [ev for ev in events if ev["type"] == "identify"]
        if not identifies:
            continue
        # Once the SDK knows the user, every later event of the device carries the userId
        # (a few seconds of slack: corrected times include network latency).
        user, since = identifies[0]["userId"], event_time(identifies[0]) + timedelta(seconds=5)
        assert all(ev.get("userId") == user for ev in events if event_time(ev) > since)
        anonymous_then_identified += "userId" not in events[0]
    assert anonymous_then_identified >= 10
    # People on more than one device, linked by signing in on each.
    devices_of: dict[str, set[str]] = defaultdict(set)
    for ev in run.valid:
        if ev.get("userId"):
            devices_of[ev["userId"]].add(ev["anonymousId"])
    assert sum(len(d) >= 2 for d in devices_of.values()) >= 3
    # Every user id in the events is an account; signups are accounts created in the period.
    assert devices_of.keys() <= run.accounts.keys()
    signed_up = [ev for ev in run.valid if ev.get("event") == "Signed Up"]
    assert all("userId" not in ev for ev in signed_up)
    new_accounts = [a for a in run.accounts.values() if a["created_at"] >= "2026-08-01"]
    assert len(new_accounts) >= 0.8 * len(signed_up)
    aliases = [ev for ev in run.valid if ev["type"] == "alias"]
    assert all(ev["previousId"] == ev["anonymousId"] for ev in aliases)


def test_sessions_bounces_and_midnight(run: Output) -> None:
    """Sessions by the 30-minute rule: bounces, several a day, some past midnight."""
    by_device: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for ev in run.valid:
        kind = "view" if ev["type"] in ("page", "screen") else ev.get("event", ev["type"])
        by_device[ev["anonymousId"]].append((event_time(ev), kind))
    sessions: list[tuple[str, list[tuple[datetime, str]]]] = []
    for device, events in by_device.items():
        events.sort()
        current = [events[0]]
        for prev, cur in pairwise(events):
            if cur[0] - prev[0] > timedelta(minutes=30):
                sessions.append((device, current))
                current = []
            current.append(cur)
        sessions.append((device, current))
    bounces = [
        s
        for _, s in sessions
        if sum(k == "view" for _, k in s) == 1
        and all(k in ("view", "Page Heartbeat") for _, k in s)
    ]
    assert 0.15 < len(bounces) / len(sessions) < 0.7
    assert any(s[0][0].date() != s[-1][0].date() for _, s in sessions)
    per_device_day = Counter((device, s[0][0].date()) for device, s in sessions)
    assert sum(n >= 2 for n in per_device_day.values()) >= 10


def test_search_clicks_lead_to_the_clicked_page(run: Output) -> None:
    by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ev in run.valid:
        by_device[ev["anonymousId"]].append(ev)
    clicks = followed = 0
    for events in by_device.values():
        events.sort(key=event_time)
        for i, ev in enumerate(events):
            if ev.get("event") != "Search Result Clicked":
                continue
            clicks += 1
            views = [e for e in events[i + 1 :] if e["type"] in ("page", "screen")]
            if views and views[0]["properties"].get("content_id") == ev["properties"]["content_id"]:
                followed += 1
    assert clicks > 0 and followed >= 0.9 * clicks
    searches = [ev for ev in run.valid if ev.get("event") == "Products Searched"]
    assert any(ev["properties"]["results_count"] == 0 for ev in searches)


def test_content_exists_and_was_published(run: Output) -> None:
    for item in run.content.values():
        assert item["content_type"] in ("article", "video", "fighter", "fight_event")
        assert item["content_id"].startswith(item["content_type"] + ":")
        assert item["published_at"].endswith("Z") and isinstance(item["fighters"], list)
        assert {"title", "author", "weight_class", "fight_event_id"} <= item.keys()
    counts = Counter(item["content_type"] for item in run.content.values())
    assert counts["article"] >= 100 and counts["fighter"] >= 100 and counts["fight_event"] >= 2
    for ev in run.valid:
        props = ev.get("properties", {})
        cid = props.get("content_id")
        if cid is None:
            continue
        assert cid in run.content, cid
        if ev["type"] in ("page", "screen"):
            assert ts(run.content[cid]["published_at"]) <= event_time(ev), (cid, ev["timestamp"])


def test_accounts_snapshot(run: Output) -> None:
    for account in run.accounts.values():
        assert account["plan"] in ("free", "monthly", "annual")
        assert re.fullmatch(r"[A-Z]{2}", account["country"])
        assert ISO_WITH_OFFSET.match(account["created_at"])
    # The snapshot's plan is the state after the period's subscription events.
    plan_of: dict[str, str] = {}
    for ev in sorted(run.valid, key=event_time):
        if ev.get("event") == "Subscription Started":
            plan_of[ev["userId"]] = ev["properties"]["plan"]
        elif ev.get("event") == "Subscription Cancelled":
            plan_of[ev["userId"]] = "free"
    assert plan_of
    agree = sum(run.accounts[u]["plan"] == plan for u, plan in plan_of.items())
    assert agree >= 0.9 * len(plan_of)


def test_experiment_assignment_is_stable(run: Output) -> None:
    variant_of: dict[str, set[str]] = defaultdict(set)
    for ev in run.valid:
        if ev.get("event") == "Experiment Viewed":
            assert ev["properties"]["experiment_id"] == "paywall_v2"
            variant_of[ev.get("userId") or ev["anonymousId"]].add(ev["properties"]["variant"])
    assert all(len(v) == 1 for v in variant_of.values())
    assert {v for vs in variant_of.values() for v in vs} == {"control", "treatment"}


def test_fight_events_carry_their_start_and_upcoming_ones_are_listed(run: Output) -> None:
    nights = set(run.manifest["fight_nights"])
    period_end = date.fromisoformat(run.manifest["end"])
    starts = {}
    for item in run.content.values():
        if item["content_type"] != "fight_event":
            assert item["starts_at"] is None
            continue
        start = ts(item["starts_at"])
        assert start.weekday() == 5 and ts(item["published_at"]) < start
        starts[item["content_id"]] = start.date()
    in_period = {d.isoformat() for d in starts.values() if START <= d <= period_end}
    assert in_period == nights
    assert any(d > period_end for d in starts.values()), "no announced upcoming fight night"


def test_next_page_is_often_related_content(run: Output) -> None:
    """Co-viewing: within a session, the next content viewed shares a fighter with the
    previous one far more often than two random views do."""
    fighters = {cid: set(item["fighters"]) for cid, item in run.content.items()}
    views: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for ev in run.valid:
        cid = ev.get("properties", {}).get("content_id")
        if ev["type"] in ("page", "screen") and cid:
            views[ev["anonymousId"]].append((event_time(ev), cid))
    consecutive = shared = 0
    for seq in views.values():
        seq.sort()
        for (t0, a), (t1, b) in pairwise(seq):
            if a != b and t1 - t0 < timedelta(minutes=30):
                consecutive += 1
                shared += bool(fighters[a] & fighters[b])
    pool = sorted(cid for seq in views.values() for _, cid in seq)
    step = max(1, len(pool) // 5000)
    sample = pool[::step]
    random_pairs = list(zip(sample, reversed(sample), strict=True))
    chance = sum(bool(fighters[a] & fighters[b]) for a, b in random_pairs) / len(random_pairs)
    assert consecutive > 1000
    assert shared / consecutive > 3 * chance


def test_people_who_leave_fade_out_first(tmp_path: Path) -> None:
    """Churn is behaviour-driven: over the weeks before a person's last visit their active
    days thin out, compared with a month earlier (pooled over everyone who left)."""
    days = 120
    summary = generate(tmp_path, days=days, users=1500, seed=3, start=START)
    active: dict[str, set[date]] = defaultdict(set)
    for line in read_output(tmp_path, summary).lines:
        if line.ev is not None and line.ev.get("event") != "Page Heartbeat":
            active[line.ev["anonymousId"]].add(line.event_time.date())
    end = START + timedelta(days=days - 1)
    last_two_weeks = month_before = leavers = 0
    for visits in active.values():
        last = max(visits)
        if (end - last).days < 35 or (last - min(visits)).days < 56:
            continue  # still around, or too short a history to compare
        leavers += 1
        last_two_weeks += sum(1 for d in visits if 1 <= (last - d).days <= 14)
        month_before += sum(1 for d in visits if 29 <= (last - d).days <= 42)
    assert leavers >= 30
    assert last_two_weeks < 0.7 * month_before
