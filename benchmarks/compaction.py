"""Compaction against its floor: a build over compacted days vs. the same events in 4 files.

    python -m benchmarks.compaction                          # ~1M events over 2 days
    python -m benchmarks.compaction --users 60000 --days 2 --json out.json

Generates a demo platform (days ending today), ingests it once with compaction off, and
lays the same landed events out three ways, each in its own home:

* ``four``: each event day in 4 files (the floor), in row groups of the compactor's size;
* ``small``: each event day in ``--small-files`` files, what the collector leaves a day
  of 1M events with its defaults (a flush every 10 s in each of 2 workers: 17,280);
* ``compacted``: ``small`` after ``ringside compact`` (timed).

Then ``ringside build --no-models`` (a first, full build) runs in each home, one after
the other, and the benchmark prints files per day, build seconds, peak memory, the
compaction's rows/s and the ratios to the floor, and checks that the three warehouses
hold the same events.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.harness import RINGSIDE, Child, checked, child_env, run_child
from ingestion.compaction import ROW_GROUP_ROWS
from ringside.core.layout import Layout
from ringside.demo.generator import generate

LAYOUTS = ("four", "small", "compacted")


def _env(home: Path, **extra: str) -> dict[str, str]:
    return child_env(RINGSIDE_HOME=str(home), **extra)


def _lay_out(pristine: Path, home: Path, files_per_day: int) -> int:
    """A copy of the pristine home whose landed events are re-split into
    ``files_per_day`` files per day; returns the files written."""
    shutil.copytree(pristine, home, symlinks=True)
    layout = Layout(home)
    written = 0
    for day, paths in Layout(pristine).landed_event_files().items():
        table = pa.concat_tables(pq.read_table(path) for path in paths)
        directory = layout.raw_events_partition(day)
        shutil.rmtree(directory)
        directory.mkdir(parents=True)
        size = -(-table.num_rows // files_per_day)
        for n, start in enumerate(range(0, table.num_rows, size)):
            # Row groups as the compactor writes them: only the number of files differs.
            pq.write_table(
                table.slice(start, size),
                directory / f"part-{n:06d}.parquet",
                row_group_size=ROW_GROUP_ROWS,
            )
            written += 1
    return written


def _events_in(home: Path) -> tuple[int, int]:
    """Rows and distinct message ids of the served warehouse's fct_events."""
    with duckdb.connect(str(Layout(home).serving_path), read_only=True) as con:
        query = "select count(*), count(distinct message_id) from fct_events"
        rows, ids = con.execute(query).fetchone()
    return rows, ids


def _files_per_day(home: Path) -> dict[str, int]:
    return {day.isoformat(): len(paths) for day, paths in Layout(home).landed_event_files().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=60_000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--small-files", type=int, default=17_280, help="files per day")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--root", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    root = args.root or Path(tempfile.mkdtemp(prefix="ringside-compaction-"))
    root.mkdir(parents=True, exist_ok=True)
    start = datetime.now(UTC).date() - timedelta(days=args.days - 1)
    summary = generate(root / "platform", days=args.days, users=args.users, seed=args.seed,
                       start=start)  # fmt: skip
    pristine = root / "pristine"
    off = {"RINGSIDE_COMPACTION_SECONDS": "0"}
    checked(run_child("ingest", [str(RINGSIDE), "ingest", str(summary.out)],
                      _env(pristine, **off), root / "logs" / "ingest.log"))  # fmt: skip

    homes = {name: root / name for name in LAYOUTS}
    _lay_out(pristine, homes["four"], 4)
    _lay_out(pristine, homes["small"], args.small_files)
    shutil.copytree(homes["small"], homes["compacted"], symlinks=True)
    compact_argv = [str(RINGSIDE), "compact"]
    log = root / "logs" / "compact.log"
    compaction = checked(run_child("compact", compact_argv, _env(homes["compacted"]), log))

    builds: dict[str, Child] = {}
    for name, home in homes.items():
        argv = [str(RINGSIDE), "build", "--no-models"]
        log = root / "logs" / f"build-{name}.log"
        builds[name] = checked(run_child(f"build-{name}", argv, _env(home, **off), log))

    landed_rows = sum(
        pq.ParquetFile(path).metadata.num_rows
        for paths in Layout(pristine).landed_event_files().values()
        for path in paths
    )
    events = {name: _events_in(home) for name, home in homes.items()}
    figures: dict[str, Any] = {
        "generated_events": summary.events_written,
        "landed_rows": landed_rows,
        "days": args.days,
        "files_per_day": {name: _files_per_day(home) for name, home in homes.items()},
        "compaction_s": round(compaction.seconds, 1),
        "compaction_rows_per_s": round(landed_rows / compaction.seconds),
        "build_s": {name: round(child.seconds, 1) for name, child in builds.items()},
        "build_peak_mib": {name: round(child.tree_peak_mib) for name, child in builds.items()},
        "fct_events_rows_distinct": events,
        "ratio_small_to_four": round(builds["small"].seconds / builds["four"].seconds, 3),
        "ratio_compacted_to_four": round(builds["compacted"].seconds / builds["four"].seconds, 3),
        "root": str(root),
    }
    print(json.dumps(figures, indent=2))
    if len(set(events.values())) != 1:
        raise SystemExit(f"the three warehouses differ: {events}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
