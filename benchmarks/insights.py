"""Latency of the ad-hoc query engine on a built warehouse (median and p95 of N runs).

    python -m benchmarks.insights --warehouse /path/to/serving/ringside.duckdb

Defaults to the published warehouse of RINGSIDE_HOME. Use the 10M-event home that
`python -m benchmarks.pipeline --workdir DIR` leaves in DIR/home for the figures in
benchmarks/RESULTS.md. Each query runs once untimed first (file cache warm, as a
serving API would be).
"""

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import duckdb

from ringside.core.settings import get_settings
from ringside.insights.definitions import saved_funnels
from ringside.insights.funnels import FunnelQuery, run_funnel
from ringside.insights.retention import RetentionQuery, run_retention


def timed(runs: int, query: Callable[[], object]) -> tuple[float, float, object]:
    result = query()
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        query()
        seconds.append(time.perf_counter() - t0)
    p95 = statistics.quantiles(seconds, n=20, method="inclusive")[-1]
    return statistics.median(seconds), p95, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    path = args.warehouse or get_settings().layout.serving_path
    con = duckdb.connect(str(path), read_only=True)
    events, first, last = con.execute(
        "select count(*), min(event_date), max(event_date) from fct_events"
    ).fetchone()
    print(f"warehouse {path}: {events:,} events, {first} .. {last}, {args.runs} runs each")

    cases: dict[str, Callable[[], object]] = {
        f"funnel {name} ({len(definition.steps)} steps, {first}..{last})": (
            lambda definition=definition: run_funnel(
                con, FunnelQuery(definition=definition, start=first, end=last)
            )
        )
        for name, definition in saved_funnels().items()
    }
    # 30-day retention: 30 daily cohorts, each followed for 30 days.
    thirty = first + timedelta(days=29)
    for counting in ("n_day", "rolling"):
        cases[f"retention D0-D30, daily cohorts {first}..{thirty}, {counting}"] = (
            lambda counting=counting: run_retention(
                con,
                RetentionQuery(
                    target_event="$any_activity",
                    counting=counting,
                    start=first,
                    end=thirty,
                    periods=30,
                ),
            )
        )
    print(f"{'query':<80} {'median s':>9} {'p95 s':>8}")
    for label, query in cases.items():
        median, p95, _ = timed(args.runs, query)
        print(f"{label:<80} {median:>9.3f} {p95:>8.3f}")


if __name__ == "__main__":
    main()
