"""Deterministic, streaming generator of a demo MMA news/video/fight-night platform.

``generate(out, days=..., users=..., seed=..., start=...)`` writes::

    OUT/events/YYYY-MM-DD.ndjson.gz   Segment events, one file per arrival (receivedAt) day
    OUT/snapshots/content.ndjson      the content catalog (application database export)
    OUT/snapshots/accounts.ndjson     registered users as of the end of the period
    OUT/manifest.json                 parameters and counts

The same arguments always give byte-identical files. Events are produced day by day and
written as they are made; only the population's state and a small carry-over buffer of
lines for the next days are held in memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import orjson

from ringside.core.files import replace_file
from ringside.demo.behaviour import Simulator
from ringside.demo.catalog import DAY_MS, HOUR_MS, Catalog
from ringside.demo.catalog_build import build_catalog
from ringside.demo.people import Person, build_population
from ringside.demo.sink import Emitter, Sink

_EPOCH = date(1970, 1, 1)
MAIN_CARD_HOUR_UTC = 23  # 7 pm Eastern: the main card of a fight night


@dataclass(frozen=True)
class GenerateSummary:
    out: Path
    days: int
    users: int
    seed: int
    start: date
    events_written: int  # lines in all event files, invalid + duplicates included
    invalid_events: int  # lines deliberately made invalid
    duplicate_events: int  # lines that repeat an earlier messageId verbatim
    late_events: int  # valid lines in the file of a later day than their event day
    files: list[Path]
    content_items: int
    accounts: int


def generate(
    out: Path,
    *,
    days: int = 90,
    users: int = 20000,
    seed: int = 7,
    start: date = date(2026, 8, 1),
) -> GenerateSummary:
    """Simulate ``users`` people visiting the site for ``days`` days from ``start``.

    ``late_events`` counts valid lines (duplicates included) whose event time
    (``receivedAt - (sentAt - timestamp)``) falls on an earlier UTC day than the file's.
    Event files of an earlier run in ``out`` are replaced.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if users < 1:
        raise ValueError(f"users must be at least 1, got {users}")
    out = Path(out)
    events_dir = out / "events"
    snapshots_dir = out / "snapshots"
    events_dir.mkdir(parents=True, exist_ok=True)
    snapshots_dir.mkdir(parents=True, exist_ok=True)
    # Day files of an earlier run into the same directory would be ingested with these.
    for stale in events_dir.glob("????-??-??.ndjson.gz"):
        stale.unlink()

    first_day = (start - _EPOCH).days
    catalog = build_catalog(seed, first_day, days)
    fight_nights = catalog.fight_nights(first_day, first_day + days - 1)
    people = build_population(seed, users, first_day, days, set(fight_nights))
    sink = Sink(events_dir, first_day, days)
    emitter = Emitter(random.Random(f"ringside-demo-events:{seed}"), sink)
    sim = Simulator(
        random.Random(f"ringside-demo-behaviour:{seed}"), catalog, people, emitter, users
    )
    for day in range(first_day, first_day + days):
        sink.open_day(day)
        sim.run_day(day)
        sink.close_day()

    content_path = snapshots_dir / "content.ndjson"
    accounts_path = snapshots_dir / "accounts.ndjson"
    content_items = _write_content(content_path, catalog)
    accounts = _write_accounts(accounts_path, people)
    manifest_path = out / "manifest.json"
    summary = GenerateSummary(
        out=out,
        days=days,
        users=users,
        seed=seed,
        start=start,
        events_written=sink.written,
        invalid_events=sink.invalid,
        duplicate_events=sink.duplicates,
        late_events=sink.late,
        files=[*sink.files, content_path, accounts_path, manifest_path],
        content_items=content_items,
        accounts=accounts,
    )
    manifest = {
        "out": str(out),
        "days": days,
        "users": users,
        "seed": seed,
        "start": start.isoformat(),
        "end": (start + timedelta(days=days - 1)).isoformat(),
        "events_written": summary.events_written,
        "invalid_events": summary.invalid_events,
        "duplicate_events": summary.duplicate_events,
        "late_events": summary.late_events,
        "content_items": content_items,
        "accounts": accounts,
        # Paths relative to `out`, so the directory can be moved.
        "files": [str(p.relative_to(out)) for p in summary.files],
        "fight_nights": [(_EPOCH + timedelta(days=d)).isoformat() for d in fight_nights],
    }
    replace_file(manifest_path, orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return summary


def _iso(ms: int) -> str:
    """UTC ISO-8601 with milliseconds and ``Z``, the format the SDKs use for traits."""
    moment = datetime(1970, 1, 1) + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _write_content(path: Path, catalog: Catalog) -> int:
    rows = []
    for c in catalog.all_items():
        rows.append(
            orjson.dumps(
                {
                    "content_id": c.content_id,
                    "content_type": c.content_type,
                    "title": c.title,
                    "published_at": _iso(c.published_ms),
                    "author": c.author,
                    "fighters": [catalog.fighter_name(f) for f in c.fighters],
                    "weight_class": c.weight_class,
                    "fight_event_id": (
                        catalog.events[c.event].content_id if c.event is not None else None
                    ),
                    # Fight events only: when the main card starts (announced weeks ahead,
                    # so the snapshot also lists the upcoming ones).
                    "starts_at": (
                        _iso(c.day * DAY_MS + MAIN_CARD_HOUR_UTC * HOUR_MS)
                        if c.content_type == "fight_event"
                        else None
                    ),
                }
            )
        )
    replace_file(path, b"\n".join(rows) + b"\n")
    return len(rows)


def _write_accounts(path: Path, people: list[Person]) -> int:
    registered = sorted((p for p in people if p.user_id is not None), key=lambda p: p.idx)
    rows = [
        orjson.dumps(
            {
                "user_id": p.user_id,
                "created_at": _iso(p.created_ms),
                "country": p.country,
                "plan": p.plan,
            }
        )
        for p in registered
    ]
    replace_file(path, b"".join(row + b"\n" for row in rows))
    return len(rows)
