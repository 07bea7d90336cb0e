"""Report latency through the API: every default report and the heaviest shape, cold
and warm.

    python -m benchmarks.reports --home DIR/home [--runs 20]

`DIR/home` is a built RINGSIDE_HOME (e.g. from `python -m benchmarks.pipeline
--workdir DIR`). Each report is timed as `POST /api/analytics/reports/{id}/run` in
process (FastAPI TestClient: key check, application database, warehouse, JSON):

- cold: the first run after a new data version (what the first reader after a build
  gets: the results cache misses, the last-day anchor is read again). Each cold run
  gets its own version stamp, and with `--drop-caches` (root) the OS page cache is
  dropped first, so the DuckDB file is read from disk;
- warm: the runs after it on the same version (served from the results cache).
"""

import argparse
import os
import statistics
import time
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from ringside.access.keys import create_key
from ringside.core.appdb import session
from ringside.core.settings import Settings, get_settings
from ringside.reports.definition import MAX_LIMIT
from ringside.reports.sources import mart_sources


def _new_version(settings: Settings) -> None:
    """What a build's `serve()` ends with, without copying the warehouse again."""
    settings.layout.data_version_path.write_text(f"benchmark-{uuid.uuid4().hex}")


def _drop_page_cache() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="A built RINGSIDE_HOME.")
    parser.add_argument("--runs", type=int, default=20, help="Warm runs per report.")
    parser.add_argument("--drop-caches", action="store_true", help="Drop the OS page cache.")
    args = parser.parse_args()
    os.environ["RINGSIDE_HOME"] = str(args.home.resolve())
    get_settings.cache_clear()
    settings = get_settings()
    with session(settings) as db:
        _, secret = create_key(db, "admin", name="benchmark")
    client = TestClient(create_app(), headers={"Authorization": f"Bearer {secret}"})
    reports = client.get("/api/analytics/reports/", params={"owner": "ringside"}).json()
    # Beside the defaults, the heaviest shape a report may take: every content measure per
    # item and day over the whole range, up to the row limit.
    heaviest = client.post(
        "/api/analytics/reports/",
        json={
            "name": "Every item, every day",
            "metrics": [f"content.{m}" for m in mart_sources()["content"].measures],
            "dimensions": ["content_id"],
            "date_range": {"type": "absolute", "start": "2000-01-01", "end": "2100-12-31"},
            "limit": MAX_LIMIT,
        },
    )
    heaviest.raise_for_status()
    reports.append(heaviest.json())
    print(f"{len(reports)} reports (defaults + heaviest) over {settings.layout.serving_path}")
    print(f"{'report':<32} {'rows':>6} {'cold s':>8} {'warm median s':>14} {'warm p95 s':>11}")
    colds: list[float] = []
    for report in reports:
        _new_version(settings)
        dropped = _drop_page_cache() if args.drop_caches else False
        started = time.perf_counter()
        response = client.post(f"/api/analytics/reports/{report['id']}/run")
        cold = time.perf_counter() - started
        response.raise_for_status()
        assert response.json()["cached"] is False
        warm = []
        for _ in range(args.runs):
            started = time.perf_counter()
            again = client.post(f"/api/analytics/reports/{report['id']}/run")
            warm.append(time.perf_counter() - started)
            assert again.json()["cached"] is True
        colds.append(cold)
        p95 = statistics.quantiles(warm, n=20)[-1] if len(warm) > 1 else warm[0]
        print(
            f"{report['name'][:32]:<32} {response.json()['row_count']:>6} "
            f"{cold:>8.3f}{'*' if dropped else ' '} {statistics.median(warm):>13.4f} {p95:>11.4f}"
        )
    print(f"slowest cold run {max(colds):.3f} s (* = OS page cache dropped first)")


if __name__ == "__main__":
    main()
