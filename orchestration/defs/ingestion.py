"""Landed data as Dagster assets, and the automation that builds when data lands.

Events are landed by `ringside ingest` and the HTTP collector (never by Dagster), so
materializing ``tracking/events`` registers the days that landed since the last build —
row and file counts as metadata — and, on PostgreSQL, loads them into the raw events
table dbt reads; then everything downstream rebuilds what those days change.
"""

from datetime import UTC, datetime

import duckdb
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AssetSpec,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    schedule,
    sensor,
)
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

from ingestion.postgres_load import load_partitions
from orchestration.defs.window import FULL_CHECKS_TAG, days_tag, run_days
from ringside.core.build_state import (
    BuildState,
    build_days,
    changed_days,
    landed_state,
    served_generation,
)
from ringside.core.raw_lock import reading_raw
from ringside.core.settings import get_settings

RAW_EVENTS_KEY = AssetKey(["tracking", "events"])
WAITING = (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED)


def register_landed_events(context: AssetExecutionContext) -> MaterializeResult:
    settings = get_settings()
    layout = settings.layout
    days = run_days(context.run)
    # The files listed stay in place until they are read (compaction).
    with reading_raw(layout):
        if settings.warehouse == "postgres":
            report = load_partitions(settings, days)
            files, rows = report.files, report.rows
            location = MetadataValue.text(f"{settings.pg_database}.{settings.pg_raw_schema}.events")
        else:
            landed = layout.landed_event_files(days=days)
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
            "days": len(days),
            "location": location,
        }
    )


raw_events = asset(
    register_landed_events,
    key=RAW_EVENTS_KEY,
    group_name="landed",
    description="Validated, enriched events landed as Parquet, one folder per UTC event "
    "day; on PostgreSQL the run's days are loaded into the raw events table. A run "
    "registers the days that landed since the last build (its `ringside/days` tag).",
    kinds={"parquet"},
)


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


@sensor(
    job=build_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Builds what landed since the served build, one run at a time: marts "
    "follow new events within a build's time plus 30 s.",
)
def landed_events_sensor(context: SensorEvaluationContext):
    settings = get_settings()
    landed = landed_state(settings.layout)
    served = served_generation(settings)
    days = changed_days(landed, served.state() if served else BuildState())
    if not days:
        return SkipReason("nothing landed since the last build")
    # One build at a time: a queue of runs over the same new days would only wait.
    active = context.instance.get_run_records(
        RunsFilter(job_name=build_job.name, statuses=[*IN_PROGRESS_RUN_STATUSES, *WAITING]),
        limit=1,
    )
    if active:
        return SkipReason(f"a build is running ({active[0].dagster_run.run_id})")
    newest = max(landed[day.isoformat()] for day in days)
    # The run reads what the database it writes lacks: on DuckDB that one is a build
    # behind the served one, so its days include the served build's too.
    return RunRequest(run_key=f"landed@{newest}", tags=days_tag(build_days(settings)))


@schedule(
    job=build_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Daily full check: rebuilds nothing new but runs every data test over "
    "whole tables (a micro-batch build tests the rows it built).",
)
def daily_full_check(context: ScheduleEvaluationContext) -> RunRequest:
    scheduled = context.scheduled_execution_time or datetime.now(UTC)
    return RunRequest(
        run_key=f"full-check-{scheduled:%Y-%m-%d}", tags={**days_tag([]), FULL_CHECKS_TAG: "true"}
    )


defs = Definitions(
    assets=[raw_events, *snapshot_specs],
    jobs=[build_job],
    sensors=[landed_events_sensor],
    schedules=[daily_full_check],
)
