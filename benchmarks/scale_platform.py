"""The scale benchmark's platform: generated and ingested once, kept in a cache folder.

One folder per (events, seed) under the cache (``--cache``): ``input/`` (`ringside
generate` output, one extra day held back for the micro-batches), ``home/`` (a pristine
RINGSIDE_HOME that only `ringside ingest` has touched) and ``platform.json`` (how long
generation and ingestion took, events/s, peak memory). :func:`prepare` fills a folder
unless it is already complete (one preparer at a time, a stopped preparation starts
again where it can); :func:`copy_home` gives each run its own home from the pristine one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import RINGSIDE, Code, checked, dir_bytes, locked, run_child, utc_iso

DEFAULT_CACHE = Path("/work/bench-cache")


@dataclass(frozen=True)
class Platform:
    events: int
    seed: int
    days: int  # history days (one more is generated and held back)
    root: Path

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def info_path(self) -> Path:
        return self.root / "platform.json"

    def info(self) -> dict[str, Any]:
        try:
            return json.loads(self.info_path.read_text())
        except FileNotFoundError:
            return {}

    def save_info(self, info: dict[str, Any]) -> None:
        tmp = self.info_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(info, indent=2) + "\n")
        os.replace(tmp, self.info_path)

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.input_dir / "manifest.json").read_text())

    def held_back_file(self) -> Path:
        return self.input_dir / "events" / f"{self.manifest()['end']}.ndjson.gz"

    def history_files(self) -> list[Path]:
        held_back = self.held_back_file()
        days = sorted((self.input_dir / "events").glob("????-??-??.ndjson.gz"))
        snapshots = sorted((self.input_dir / "snapshots").glob("*.ndjson"))
        return [p for p in days if p != held_back] + snapshots


def platform_for(cache: Path, events: int, seed: int, days: int, default_days: int) -> Platform:
    name = f"events-{events}-seed-{seed}" + ("" if days == default_days else f"-days-{days}")
    return Platform(events=events, seed=seed, days=days, root=cache / name)


def generate_argv(out: Path, days: int, users: int, seed: int) -> list[str]:
    return [
        str(RINGSIDE),
        "generate",
        "--out",
        str(out),
        "--days",
        str(days),
        "--users",
        str(users),
        "--seed",
        str(seed),
    ]


def users_for(events: int, days: int, seed: int, root: Path, code: Code) -> tuple[int, int]:
    """Population whose `days` of activity hold about `events` events (a 2,000-person
    probe of the same length; events per person depend on the period's length)."""
    probe_users, probe_dir = 2000, root / "probe"
    argv = generate_argv(probe_dir, days, probe_users, seed)
    checked(run_child("probe", argv, code.env(), root / "logs" / "probe.log", cwd=code.source))
    written = int(json.loads((probe_dir / "manifest.json").read_text())["events_written"])
    shutil.rmtree(probe_dir, ignore_errors=True)
    return max(1, round(events * probe_users / written)), written


INGEST_TOTAL = re.compile(r"total: .*?([\d,]+) lines, ([\d,]+) accepted, ([\d,]+) quarantined")


def ingest_totals(log: Path) -> dict[str, int]:
    matches = INGEST_TOTAL.findall(log.read_text(errors="replace"))
    if not matches:
        return {}
    lines, accepted, quarantined = (int(v.replace(",", "")) for v in matches[-1])
    return {"lines": lines, "accepted": accepted, "quarantined": quarantined}


def prepare(
    platform: Platform, workers: int, code: Code, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Generate and ingest the platform unless the cache already holds it."""
    with locked(platform.root / ".lock"):
        info = platform.info()
        if info.get("ingest"):
            return info
        logs = platform.root / "logs"
        if not info.get("generate") or not (platform.input_dir / "manifest.json").exists():
            log(f"probing the population for {platform.events:,} events in {platform.days} days")
            users, probe_events = users_for(
                platform.events, platform.days, platform.seed, platform.root, code
            )
            log(f"generating {platform.days + 1} days for {users:,} people -> {platform.input_dir}")
            child = checked(
                run_child(
                    "generate",
                    generate_argv(platform.input_dir, platform.days + 1, users, platform.seed),
                    code.env(),
                    logs / "generate.log",
                    poll_s=5.0,
                    cwd=code.source,
                )
            )
            manifest = platform.manifest()
            info = {
                "events_target": platform.events,
                "seed": platform.seed,
                "history_days": platform.days,
                "generated_days": platform.days + 1,
                "users": users,
                "probe": {"users": 2000, "events": probe_events},
                "nice": os.nice(0),
                "generate": {
                    **code.ran_on,
                    "seconds": child.seconds,
                    "events_written": manifest["events_written"],
                    "events_per_s": manifest["events_written"] / child.seconds,
                    "maxrss_mib": child.maxrss_mib,
                    "cpu_s": child.cpu_s,
                    "started": utc_iso(child.started),
                },
                "first_day": manifest["start"],
                "held_back_day": manifest["end"],
            }
            platform.save_info(info)
        if platform.home.exists():  # an ingestion that did not finish: start it again
            shutil.rmtree(platform.home)
        files = platform.history_files()
        log(f"ingesting {len(files)} files into {platform.home}")
        child = checked(
            run_child(
                "ingest",
                [str(RINGSIDE), "ingest", *map(str, files), "--workers", str(workers)],
                code.env(RINGSIDE_HOME=str(platform.home)),
                logs / "ingest.log",
                poll_s=5.0,
                cwd=code.source,
            )
        )
        totals = ingest_totals(logs / "ingest.log")
        info["ingest"] = {
            **code.ran_on,
            "seconds": child.seconds,
            "workers": workers,
            **totals,
            "events_per_s": totals.get("lines", 0) / child.seconds,
            "maxrss_mib": child.maxrss_mib,
            "cpu_s": child.cpu_s,
            "tree_peak_mib": child.tree_peak_mib,
            "started": utc_iso(child.started),
        }
        info["landed"] = {
            "raw_events_bytes": dir_bytes(platform.home / "raw" / "events"),
            "home_bytes": dir_bytes(platform.home),
        }
        platform.save_info(info)
        return info


def copy_home(pristine: Path, target: Path) -> None:
    """A run's home: ``raw/`` hard-linked (append-only files), everything else copied."""
    target.mkdir(parents=True)
    for entry in sorted(pristine.iterdir()):
        flags = "-al" if entry.name == "raw" else "-a"
        subprocess.run(["cp", flags, str(entry), str(target / entry.name)], check=True)
