"""Landed data as Dagster assets, and the automation that builds when data lands.

Events are landed by `ringside ingest` and the HTTP collector (never by Dagster), so
materializing a day of ``tracking/events`` registers what has landed for that day —
row and file counts as metadata — and, on PostgreSQL, loads it into the raw events
table dbt reads; then everything downstream rebuilds.
"""

import json
import warnings
from datetime import UTC, datetime, timedelta

import duckdb
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AssetSpec,
    BackfillPolicy,
    BetaWarning,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    schedule,
    sensor,
)

from ingestion.postgres_load import load_partitions
from orchestration.defs.partitions import daily_partitions, window_dates
from ringside.layout import Layout
from ringside.settings import get_settings

RAW_EVENTS_KEY = AssetKey(["tracking", "events"])


def register_landed_events(context: AssetExecutionContext) -> MaterializeResult:
    settings = get_settings()
    layout = settings.layout
    first_day, last_day = window_dates(context.partition_time_window)
    window = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    if settings.warehouse == "postgres":
        report = load_partitions(settings, window)
        files, rows = report.files, report.rows
        location = MetadataValue.text(f"{settings.pg_database}.{settings.pg_raw_schema}.events")
    else:
        landed = layout.landed_event_files(days=window)
        paths = [str(path) for day_paths in landed.values() for path in day_paths]
        files = len(paths)
        rows = (
            duckdb.sql(f"select count(*) from read_parquet({paths!r})").fetchone()[0]
            if paths
            else 0
        )
        location = MetadataValue.path(str(layout.raw_events_dir))
    return MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "files": files,
            "location": location,
        }
    )


# Dagster flags backfill_policy on @asset as beta; it is required here so that one run
# can cover a range of days together with the dbt assets (single-run backfills).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", BetaWarning)
    raw_events = asset(
        key=RAW_EVENTS_KEY,
        partitions_def=daily_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        group_name="landed",
        description="Validated, enriched events landed as Parquet, one folder per UTC event "
        "day; on PostgreSQL also loaded into the raw events table.",
        kinds={"parquet"},
    )(register_landed_events)


snapshot_specs = [
    AssetSpec(
        key=AssetKey(["app", name]),
        group_name="landed",
        description=f"Snapshots of the application database's {name}, landed by `ringside ingest`.",
        kinds={"parquet"},
    )
    for name in ("content", "accounts")
]

build_job = define_asset_job(
    "ringside_build",
    # The ML assets and the reports are not daily partitions of the warehouse: the
    # `ml_scoring` and `executive_summaries` jobs run them after a build.
    selection=AssetSelection.all()
    - AssetSelection.assets(*(spec.key for spec in snapshot_specs))
    - AssetSelection.groups("ml", "reports"),
    description="Register landed events and rebuild every dbt model for the given days.",
)


def landed_state(layout: Layout) -> dict[str, float]:
    """Newest file modification time per landed event day (ISO date)."""
    return {
        day.isoformat(): max(path.stat().st_mtime for path in paths)
        for day, paths in layout.landed_event_files().items()
    }


@sensor(
    job=build_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Builds the days whose landed event files changed since the last check.",
)
def landed_events_sensor(context: SensorEvaluationContext):
    state = landed_state(get_settings().layout)
    seen: dict[str, float] = json.loads(context.cursor) if context.cursor else {}
    changed = sorted(day for day, mtime in state.items() if mtime > seen.get(day, 0.0))
    valid = set(daily_partitions.get_partition_keys())
    changed = [day for day in changed if day in valid]
    context.update_cursor(json.dumps(state))
    if not changed:
        return SkipReason("no new landed event files")
    # One run over the whole changed range: dbt assets use a single-run backfill policy.
    return RunRequest(
        run_key=f"{changed[0]}..{changed[-1]}@{max(state[d] for d in changed)}",
        tags={
            "dagster/asset_partition_range_start": changed[0],
            "dagster/asset_partition_range_end": changed[-1],
        },
    )


@schedule(
    job=build_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Hourly refresh of today's partition (late events are re-read by dbt's lookback).",
)
def hourly_build(context: ScheduleEvaluationContext) -> RunRequest:
    scheduled = context.scheduled_execution_time or datetime.now(UTC)
    return RunRequest(partition_key=scheduled.astimezone(UTC).date().isoformat())


defs = Definitions(
    assets=[raw_events, *snapshot_specs],
    jobs=[build_job],
    sensors=[landed_events_sensor],
    schedules=[hourly_build],
)
