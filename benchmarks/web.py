"""Browser benchmark of the web app (issue 10): each default dashboard opened in headless
Chromium against `ringside serve`'s app on a built RINGSIDE_HOME.

Per dashboard, the first load after the server starts (cold: no cached report results)
and the median of `--runs` reloads after it (warm):
- usable: milliseconds from the start of navigation until every widget has drawn its
  figures (what a person waits for);
- server: the slowest and the median widget query's time inside the app, read from the
  `Server-Timing` header each API response carries (PerformanceResourceTiming).

    python -m benchmarks.web --home DIR/home [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from ringside.access.keys import create_key
from ringside.core.appdb import session
from ringside.core.settings import Settings
from tests.browser import chromium, chromium_path, serving, visit

# The API requests of the last dashboard load with the app's own time for each.
SERVER_TIMES = """() => performance.getEntriesByType("resource")
    .filter(e => new URL(e.name).pathname.startsWith("/api/analytics/"))
    .map(e => ({url: e.name, app: (e.serverTiming.find(t => t.name === "app") || {}).duration,
                total: e.responseEnd - e.startTime}))"""


def measure(seen: Any, path: str) -> dict[str, Any]:
    seen.open(path)
    seen.wait_for_dashboard(timeout_ms=120_000)
    load = seen.page.evaluate("() => window.ringside.lastLoad")
    failed = [w["title"] for w in load["widgets"] if w["state"] != "ready"]
    if failed:
        raise RuntimeError(f"{load['dashboard']}: widgets failed: {', '.join(failed)}")
    queries = seen.page.evaluate(SERVER_TIMES)
    server = [q["app"] for q in queries if q["app"] is not None]
    return {
        "dashboard": load["dashboard"],
        "widgets": len(load["widgets"]),
        "queries": len(queries),
        "usable_ms": load["at"],
        "server_max_ms": max(server),
        "server_median_ms": statistics.median(server),
        "slowest": max(queries, key=lambda q: q["app"] or 0)["url"].split("/api/analytics/")[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="A built RINGSIDE_HOME.")
    parser.add_argument("--runs", type=int, default=5, help="Warm reloads per dashboard.")
    args = parser.parse_args()
    executable = chromium_path()
    if executable is None:
        raise SystemExit("no chromium: `make browser` installs it")
    settings = Settings(home=args.home)
    with session(settings) as db:
        _, secret = create_key(db, "admin", name="benchmark-web")
    rows = []
    with (
        serving(settings) as origin,
        chromium(executable) as browser,
        visit(browser, origin, secret) as seen,
    ):
        dashboards = seen.page.evaluate(
            "() => fetch('/api/analytics/dashboards/').then(r => r.json())"
        )
        for dashboard in dashboards:
            path = f"/app/dashboards/{dashboard['id']}"
            cold = measure(seen, path)
            warm = [measure(seen, path) for _ in range(args.runs)]
            rows.append((cold, warm))
        foreign = seen.foreign_requests()
    print(
        f"| dashboard | widgets / API queries | cold usable | cold slowest query (app) "
        f"| warm usable (median of {args.runs}) | warm slowest query (app, median) |"
    )
    print("|---|---|---|---|---|---|")
    for cold, warm in rows:
        print(
            f"| {cold['dashboard']} | {cold['widgets']} / {cold['queries']} "
            f"| {cold['usable_ms']:.0f} ms | {cold['server_max_ms']:.0f} ms ({cold['slowest']}) "
            f"| {statistics.median(w['usable_ms'] for w in warm):.0f} ms "
            f"| {statistics.median(w['server_max_ms'] for w in warm):.0f} ms |"
        )
    print(f"requests to other hosts: {len(foreign)}")


if __name__ == "__main__":
    main()
