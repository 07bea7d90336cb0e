"""Seed-volume benchmark: a large platform built in full, then fed as 5-minute micro-batches.

    python -m benchmarks.scale                                  # 50M events (~50 days)
    python -m benchmarks.scale --events 10000000                # 10M history (~10 days)
    python -m benchmarks.scale --events 500000 --batches 3      # proves the harness quickly
    python -m benchmarks.scale --events 10000000 --batches 0    # the whole held-back day
    python -m benchmarks.scale --events 10000000 --realtime --interval 300
    python -m benchmarks.scale --events 50000000 --prepare-only # generate + ingest only
    python -m benchmarks.scale ... --json out.json              # every figure as JSON
    python -m benchmarks.scale --baseline 10m.json              # growth vs a 10M run
    python -m benchmarks.scale --at HEAD ...                    # a clean copy of a commit

**The platform** is generated and ingested once and kept in a cache directory
(``--cache``, default ``/work/bench-cache/``), one folder per (events, seed)::

    <cache>/events-<N>-seed-<S>/input/       `ringside generate` output (one extra day)
    <cache>/events-<N>-seed-<S>/home/        pristine RINGSIDE_HOME: only `ringside ingest`
    <cache>/events-<N>-seed-<S>/platform.json  generation/ingestion seconds, events/s, RSS
    <cache>/events-<N>-seed-<S>/runs/<stamp>/  one benchmark run (default --workdir)

The history has ``--events`` events over ``--events / --events-per-day`` days (default
1M a day, the product's promise); the population is scaled so the generator emits about
that many (a probe run, as in benchmarks/pipeline.py). One more day is generated and
held back: it is played as micro-batches. Start the long ones in the background, niced
(``nohup nice -n 10 python -m benchmarks.scale --events 50000000 --prepare-only``). A
preparation that was stopped starts again where it can: generation is kept once its
manifest is written, an unfinished ingestion is redone from an empty home.

**Each run** copies the pristine home into a fresh run directory (``raw/`` hard-linked
with ``cp -al``: landed Parquet is append-only and never rewritten in place; the small
rest copied) and measures, on that copy:

1. floors (DuckDB, same threads/memory limit as the dbt profile): a scan of the landed
   events grouped by day with count(distinct anonymous_id); a sessionizing window
   function (lag over the device, ordered by event time, 30-minute timeout);
2. ``ringside build --all``: wall time, CPU seconds and peak RSS (largest process:
   ``wait4`` rusage; process tree: summed RSS polled from /proc);
3. ``ringside build`` at once again: nothing new (target <= 10 s);
4. micro-batches: the held-back day in event-time order, cut into batches of 5 minutes
   of that day (day / 288; ``--batch-events`` overrides). ``--batches N`` feeds the first
   N (0 = all 288) one after another: write NDJSON, ``ringside ingest`` (ack = when it
   returns), ``ringside build``; latency = published (the data version stamp written after
   the build's publish) - ack. ``--realtime``: a feeder thread ingests a batch every
   ``--interval`` seconds while a builder loop runs ``ringside build`` back to back
   whenever something new landed; a batch's latency = the publish of the first build
   that started after its ack - its ack;
5. disk: bytes per million landed events of the landed data and of the warehouse dir;
6. correctness: rows in fct_events (served copy) against a DuckDB count over the landed
   Parquet with int_events_sessionized's filters (no bots, no alias calls, one row per
   message_id).

``--at REV`` runs every child (generate, ingest, build) on a clean ``git archive`` copy
of a commit under ``<cache>/checkouts/``, so a run names the exact code it measured while
the work tree is being edited; without it the children run the work tree and the figures
list its changed files. Nothing is appended to RESULTS.md automatically. The run
directory is kept (``--clean`` removes it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Code,
    checked,
    checkout,
    dir_bytes,
    git_commit,
    peaks_by_kind,
    ratio,
    spread,
)
from benchmarks.scale_batches import Runner, cut_batches, realtime, sequential
from benchmarks.scale_floors import (
    DUCKDB_MEMORY_LIMIT,
    DUCKDB_THREADS,
    EXPECTED_FCT_EVENTS,
    READ_LANDED,
    SCAN_FLOOR,
    SESSION_TIMEOUT_MINUTES,
    WINDOW_FLOOR,
    duckdb_child,
)
from benchmarks.scale_platform import DEFAULT_CACHE, Platform, copy_home, platform_for, prepare
from benchmarks.scale_report import growth, report


def benchmark(
    args: argparse.Namespace, platform: Platform, info: dict[str, Any], code: Code
) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = args.workdir or platform.root / "runs" / stamp
    if run_dir.exists() and any(run_dir.iterdir()):
        raise SystemExit(f"{run_dir} is not empty: give a fresh --workdir")
    home = run_dir / "home"
    print(f"run directory {run_dir}", flush=True)
    t0 = time.perf_counter()
    copy_home(platform.home, home)
    copy_s = time.perf_counter() - t0
    build_args = ["--no-models"] if args.no_models else []
    runner = Runner(home, run_dir, build_args, code)
    glob = str(home / "raw" / "events" / "*" / "*.parquet")
    landed = READ_LANDED.format(glob=glob)
    figures: dict[str, Any] = {
        "platform": {k: v for k, v in info.items() if k != "dirty_files"},
        "run": {
            "run_dir": str(run_dir),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            **code.ran_on,
            "copy_home_s": copy_s,
            "build_args": build_args,
            "duckdb": {"threads": DUCKDB_THREADS, "memory_limit": DUCKDB_MEMORY_LIMIT},
        },
    }

    print("floors: scan ...", flush=True)
    scan_child, scan = duckdb_child(
        "scan_floor", SCAN_FLOOR.format(landed=landed), runner.env, run_dir
    )
    history_events = sum(int(row[1]) for row in scan["rows"])
    print("floors: window ...", flush=True)
    window_child, window = duckdb_child(
        "window_floor",
        WINDOW_FLOOR.format(landed=landed, timeout=SESSION_TIMEOUT_MINUTES),
        runner.env,
        run_dir,
    )
    runner.children += [scan_child, window_child]
    figures["floors"] = {
        "landed_events": history_events,
        "landed_days": len(scan["rows"]),
        "scan_s": scan["seconds"],
        "scan_child_s": scan_child.seconds,
        "scan_cpu_s": scan_child.cpu_s,
        "scan_maxrss_mib": scan_child.maxrss_mib,
        "window_s": window["seconds"],
        "window_child_s": window_child.seconds,
        "window_cpu_s": window_child.cpu_s,
        "window_maxrss_mib": window_child.maxrss_mib,
        "window_sessions": window["rows"][0][1],
    }

    print("full build: ringside build --all ...", flush=True)
    full = runner.build("build_full", "--all")
    checked(full.child)
    figures["full_build"] = {
        "seconds": full.child.seconds,
        "publish_after_s": None if full.published is None else full.published - full.child.started,
        "maxrss_mib": full.child.maxrss_mib,
        "cpu_s": full.child.cpu_s,
        "tree_peak_mib": full.child.tree_peak_mib,
        "log": full.child.log,
    }
    figures["disk_after_full_build"] = disk(home, history_events)

    print("nothing new: ringside build ...", flush=True)
    again = runner.build("build_nothing_new")
    checked(again.child)
    figures["nothing_new"] = {
        "seconds": again.child.seconds,
        "published_new_version": again.published is not None,
        "maxrss_mib": again.child.maxrss_mib,
        "cpu_s": again.child.cpu_s,
        "log": again.child.log,
    }

    print(f"cutting the held-back day {platform.held_back_file().name} ...", flush=True)
    all_batches, size = cut_batches(platform.held_back_file(), args.batch_events)
    chosen = all_batches if args.batches == 0 else all_batches[: args.batches]
    print(
        f"micro-batches ({'realtime' if args.realtime else 'sequential'}): {len(chosen)} of "
        f"{len(all_batches)} batches of {size:,} events",
        flush=True,
    )
    batch_dir = run_dir / "batches"
    if args.realtime:
        micro = realtime(runner, chosen, batch_dir, args.interval)
    else:
        micro = sequential(runner, chosen, batch_dir)
    build_times = [b["seconds"] for b in micro.builds]
    latencies = [b.latency_s for b in micro.batches if b.latency_s is not None]
    figures["micro_batches"] = {
        "mode": micro.mode,
        "interval_s": args.interval if args.realtime else None,
        "batch_events": size,
        "held_back_day_events": sum(map(len, all_batches)),
        "batches_fed": len(micro.batches),
        "events_fed": sum(b.events for b in micro.batches),
        "builds": len(micro.builds),
        "failed_builds": micro.failed_builds,
        "build_s": spread(build_times),
        "build_cpu_s": spread([b["cpu_s"] for b in micro.builds]),
        "latency_s": spread(latencies),
        "end_to_end_s": spread([b.end_to_end_s for b in micro.batches if b.end_to_end_s]),
        "ingest_s": spread([b.ingest_s for b in micro.batches]),
        "per_batch": [
            asdict(b) | {"latency_s": b.latency_s, "end_to_end_s": b.end_to_end_s}
            for b in micro.batches
        ],
        "per_build": micro.builds,
    }

    print("correctness and disk ...", flush=True)
    landed_now = dir_bytes(home / "raw" / "events")
    _, expected = duckdb_child(
        "expected_fct_events", EXPECTED_FCT_EVENTS.format(landed=landed), runner.env, run_dir
    )
    _, total = duckdb_child("landed_count", f"select count(*) from {landed}", runner.env, run_dir)
    import duckdb

    with duckdb.connect(str(home / "serving" / "ringside.duckdb"), read_only=True) as con:
        fct_rows = con.execute("select count(*) from fct_events").fetchone()
    landed_events_now = int(total["rows"][0][0])
    figures["correctness"] = {
        "fct_events_rows": int(fct_rows[0]) if fct_rows else None,
        "expected_from_landed": int(expected["rows"][0][0]),
    }
    figures["correctness"]["match"] = (
        figures["correctness"]["fct_events_rows"] == figures["correctness"]["expected_from_landed"]
    )
    figures["disk_at_end"] = disk(home, landed_events_now) | {"raw_events_bytes": landed_now}
    figures["peak_rss_by_kind"] = peaks_by_kind(runner.children)
    figures["ratios"] = {
        "full_build_over_scan_floor": ratio(figures["full_build"]["seconds"], scan["seconds"]),
        "full_build_over_window_floor": ratio(figures["full_build"]["seconds"], window["seconds"]),
        # CPU seconds (build tree vs floor process): steadier when other work shares the cores.
        "full_build_cpu_over_scan_floor_cpu": ratio(
            figures["full_build"]["cpu_s"], figures["floors"]["scan_cpu_s"]
        ),
        "micro_build_p95_over_scan_floor": ratio(
            figures["micro_batches"]["build_s"]["p95"], scan["seconds"]
        ),
        "micro_latency_p95_over_scan_floor": ratio(
            figures["micro_batches"]["latency_s"]["p95"], scan["seconds"]
        ),
    }
    figures["run"]["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    if args.clean:
        shutil.rmtree(run_dir)
    return figures


def disk(home: Path, events: int) -> dict[str, Any]:
    raw = dir_bytes(home / "raw" / "events")
    warehouse = dir_bytes(home / "warehouse")
    serving = dir_bytes(home / "serving")  # a link (two generations) or a copy
    served = home / "serving" / "ringside.duckdb"
    per_m = 1e6 / events if events else 0.0
    return {
        "landed_events": events,
        "raw_events_bytes": raw,
        "warehouse_bytes": warehouse,
        "warehouse_files": {
            p.name: p.stat().st_size for p in sorted((home / "warehouse").glob("*")) if p.is_file()
        },
        "serving_bytes": serving,
        "serving_is_link": served.is_symlink(),
        "raw_bytes_per_m_events": raw * per_m,
        "warehouse_bytes_per_m_events": warehouse * per_m,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=50_000_000, help="History events.")
    parser.add_argument("--events-per-day", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=None, help="Default: events / per day.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="Default: <platform>/runs/<stamp>."
    )
    parser.add_argument("--workers", type=int, default=2, help="Ingestion workers (platform).")
    parser.add_argument("--batches", type=int, default=12, help="0 = the whole day (288).")
    parser.add_argument("--batch-events", type=int, default=None, help="Default: day / 288.")
    parser.add_argument("--realtime", action="store_true")
    parser.add_argument("--interval", type=float, default=300.0, help="Realtime: s per batch.")
    parser.add_argument("--no-models", action="store_true", help="Pass --no-models to builds.")
    parser.add_argument("--prepare-only", action="store_true", help="Generate + ingest, stop.")
    parser.add_argument(
        "--at",
        default=None,
        metavar="REV",
        help="Run the builds on a clean copy of this commit (git archive), not the work tree.",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="JSON",
        help="The --json of a run on a shorter history (10M): growth ratios against it.",
    )
    parser.add_argument("--json", type=Path, default=None, help="Write every figure here.")
    parser.add_argument("--clean", action="store_true", help="Remove the run directory after.")
    args = parser.parse_args()
    default_days = max(1, round(args.events / args.events_per_day))
    days = args.days or default_days
    args.cache = args.cache.resolve()
    platform = platform_for(args.cache, args.events, args.seed, days, default_days)
    code = Code(None, git_commit()) if args.at is None else checkout(args.cache, args.at)
    print(f"running {code.ran_on['commit'][:12]} from {code.source or 'the work tree'}")
    info = prepare(platform, args.workers, code, log=lambda m: print(m, flush=True))
    print(
        f"platform {platform.root}: generated in {info['generate']['seconds']:.0f} s, "
        f"ingested in {info['ingest']['seconds']:.0f} s",
        flush=True,
    )
    if args.prepare_only:
        return
    figures = benchmark(args, platform, info, code)
    if args.baseline:
        figures["growth"] = growth(figures, args.baseline)
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
