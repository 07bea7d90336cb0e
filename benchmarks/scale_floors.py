"""The scale benchmark's floors: what DuckDB alone takes over the landed events.

Each query runs in a child process (so its peak memory is its own) with the dbt
profile's threads and memory limit: a scan grouped by day with count(distinct
anonymous_id), a sessionizing window function (lag over the device by event time,
30-minute timeout), and the row count fct_events should have (the correctness check).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.harness import Child, checked, run_child

SESSION_TIMEOUT_MINUTES = 30
# The dbt profile's DuckDB settings (dbt_project/profiles.yml), so floors and build
# run on the same engine budget.
DUCKDB_THREADS = 2
DUCKDB_MEMORY_LIMIT = os.environ.get("RINGSIDE_DUCKDB_MEMORY_LIMIT", "6GB")

READ_LANDED = (
    "read_parquet('{glob}', hive_partitioning = true, hive_types_autocast = false, "
    "hive_types = {{'event_date': DATE}})"
)

SCAN_FLOOR = """
select event_date, count(*) as events, count(distinct anonymous_id) as devices
from {landed}
group by event_date
order by event_date
"""

WINDOW_FLOOR = """
select count(*) as events, sum(is_start) as sessions
from (
    select
        case
            when lag(event_time) over device_events is null then 1
            when event_time - lag(event_time) over device_events
                > interval {timeout} minute then 1
            else 0
        end as is_start
    from {landed}
    window device_events as (
        partition by coalesce(anonymous_id, 'user:' || user_id)
        order by event_time, message_id
    )
)
"""

# int_events_sessionized: no bots, no alias calls; staging keeps one row per message_id.
EXPECTED_FCT_EVENTS = """
select count(distinct message_id)
from {landed}
where device_type is distinct from 'bot' and type is distinct from 'alias'
"""

# Run in a child process so each floor's peak memory is its own.
DUCKDB_CHILD = """
import json, sys, time
import duckdb
spec = json.loads(sys.argv[1])
con = duckdb.connect(config={
    "threads": spec["threads"], "memory_limit": spec["memory_limit"],
    "preserve_insertion_order": False, "temp_directory": spec["temp_directory"],
})
t0 = time.perf_counter()
rows = con.execute(spec["sql"]).fetchall()
seconds = time.perf_counter() - t0
print("RESULT " + json.dumps({"seconds": seconds, "rows": rows}, default=str))
"""


def duckdb_child(
    kind: str, sql: str, env: dict[str, str], run_dir: Path
) -> tuple[Child, dict[str, Any]]:
    spec = {
        "sql": sql,
        "threads": DUCKDB_THREADS,
        "memory_limit": DUCKDB_MEMORY_LIMIT,
        "temp_directory": str(run_dir / "duckdb_tmp"),
    }
    log = run_dir / "logs" / f"{kind}.log"
    child = checked(
        run_child(kind, [sys.executable, "-c", DUCKDB_CHILD, json.dumps(spec)], env, log)
    )
    line = [x for x in log.read_text().splitlines() if x.startswith("RESULT ")][-1]
    return child, json.loads(line.removeprefix("RESULT "))
