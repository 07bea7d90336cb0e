"""End-to-end pipeline benchmark: generate -> ingest -> full build -> one more day.

    python -m benchmarks.pipeline                  # 10M events (the default)
    python -m benchmarks.pipeline --events 1000000 # a quicker run
    python -m benchmarks.pipeline --events 1000000 --warehouse postgres

With ``--warehouse postgres`` the build goes to a fresh database on the RINGSIDE_PG_*
server (``ringside_bench_<hex>``), dropped afterwards; the full build then includes
loading the landed files into it.

The demo generator is given one extra day; that last day's file is held back, then
ingested and built on its own to measure the incremental path. Prints events/s for
generation and ingestion, seconds for the full and the incremental build, and peak
memory (this process and its children: dbt, ingestion workers).
"""

import argparse
import contextlib
import json
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg2

from ringside.core.postgres import connection_kwargs
from ringside.core.settings import Settings, get_settings


def peak_rss_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def users_for(target_events: int, days: int, seed: int, workdir: Path) -> int:
    """Scale the population so the generator emits about `target_events`."""
    from ringside.demo.generator import generate

    probe_users = 2000
    probe = generate(workdir / "probe", days=days, users=probe_users, seed=seed)
    return max(1, round(target_events * probe_users / probe.events_written))


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new database for one benchmark run, dropped afterwards."""
    name = f"ringside_bench_{uuid.uuid4().hex[:12]}"

    def execute(statement: str) -> None:
        con = psycopg2.connect(**(connection_kwargs(Settings()) | {"dbname": "postgres"}))
        con.autocommit = True  # CREATE/DROP DATABASE refuse to run in a transaction
        try:
            with con.cursor() as cur:
                cur.execute(statement)
        finally:
            con.close()

    execute(f'create database "{name}"')
    try:
        yield name
    finally:
        execute(f'drop database if exists "{name}" with (force)')


def run(
    events: int, days: int, seed: int, workers: int, workdir: Path
) -> dict[str, float | int | str]:
    from ingestion.batch import ingest_paths
    from orchestration.runner import run_build
    from ringside.core.frames import days_between
    from ringside.demo.generator import generate

    users = users_for(events, days, seed, workdir)
    start = date(2026, 8, 1)

    t0 = time.perf_counter()
    summary = generate(workdir / "platform", days=days + 1, users=users, seed=seed, start=start)
    generate_s = time.perf_counter() - t0

    # Everything, the Dagster assets included, reads RINGSIDE_HOME from the environment.
    os.environ["RINGSIDE_HOME"] = str(workdir / "home")
    get_settings.cache_clear()
    settings = get_settings()
    layout = settings.layout.ensure()
    last_day = start + timedelta(days=days)
    held_back = summary.out / "events" / f"{last_day.isoformat()}.ndjson.gz"
    first_paths = [
        p for p in sorted((summary.out / "events").glob("*.ndjson.gz")) if p != held_back
    ]
    snapshots = sorted((summary.out / "snapshots").glob("*.ndjson"))

    t0 = time.perf_counter()
    first_report = ingest_paths([*first_paths, *snapshots], layout, settings, workers=workers)
    ingest_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    run_build(days_between(start, last_day - timedelta(days=1)))
    full_build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    last_report = ingest_paths([held_back], layout, settings, workers=1)
    run_build([last_day])
    incremental_s = time.perf_counter() - t0

    own, children = peak_rss_mib()
    ingested_lines = first_report.lines
    return {
        "warehouse": settings.warehouse,
        "events_generated": summary.events_written,
        "users": users,
        "days": days + 1,
        "generate_s": generate_s,
        "generate_events_per_s": summary.events_written / generate_s,
        "ingest_s": ingest_s,
        "ingest_events_per_s": ingested_lines / ingest_s,
        "ingest_workers": workers,
        "full_build_s": full_build_s,
        "incremental_day_events": last_report.lines,
        "incremental_ingest_and_build_s": incremental_s,
        "peak_rss_mib_self": own,
        "peak_rss_mib_children": children,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None, help="Kept when given.")
    parser.add_argument("--warehouse", choices=["duckdb", "postgres"], default="duckdb")
    args = parser.parse_args()
    os.environ["RINGSIDE_WAREHOUSE"] = args.warehouse
    with contextlib.ExitStack() as stack:
        if args.warehouse == "postgres":
            os.environ["RINGSIDE_PG_DATABASE"] = stack.enter_context(fresh_postgres_database())
        if args.workdir:
            args.workdir.mkdir(parents=True, exist_ok=True)
            workdir = args.workdir
        else:
            temporary = tempfile.TemporaryDirectory(prefix="ringside-bench-")
            workdir = Path(stack.enter_context(temporary))
        figures = run(args.events, args.days, args.seed, args.workers, workdir)
    width = max(map(len, figures))
    for name, value in figures.items():
        shown = (
            f"{value:,.1f}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int)
            else value
        )
        print(f"{name:<{width}}  {shown}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
