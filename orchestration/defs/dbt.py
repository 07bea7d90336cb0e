"""dbt models as Dagster assets (dagster-dbt). Not partitioned: each run builds what
landed since the last build (orchestration/defs/window.py) into the database readers are
not using, then publishes it (ringside/core/build_state.py, ringside/core/warehouse.py)."""

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    Config,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    Failure,
    MetadataValue,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource, dbt_assets

from orchestration.dbt_project import DBT_EXECUTABLE, dbt_project
from orchestration.defs.window import FULL_CHECKS_TAG, run_days
from orchestration.sources import prepare_sources
from ringside.core import build_state, warehouse
from ringside.core.pipeline_health import (
    BuildAttempt,
    FailedNode,
    dbt_failures,
    record_attempt,
    record_run_failure,
)
from ringside.core.raw_lock import reading_raw
from ringside.core.settings import Settings, get_settings


def dbt_resource() -> DbtCliResource:
    # No fixed target: profiles.yml picks it from RINGSIDE_WAREHOUSE, which the asset
    # exports from the settings of each run (a process may build both warehouses).
    project = dbt_project()
    return DbtCliResource(
        project_dir=str(project.project_dir),
        profiles_dir=str(project.profiles_dir),
        dbt_executable=DBT_EXECUTABLE,
    )


class RingsideTranslator(DagsterDbtTranslator):
    """Groups assets by dbt layer; dbt sources keep their default keys
    (``tracking/events``, ``app/content``…) which are the ingestion assets' keys."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return AssetKey(["warehouse", dbt_resource_props["name"]])


class DbtBuildConfig(Config):
    full_refresh: bool = False
    """Rebuild incremental models from scratch (after a model's schema changed)."""
    drill: bool = False
    """Fire drill: fail the build on purpose (dbt test assert_pipeline_drill) so on-call
    can check that status, /health and the pipeline alerts notice; nothing is published."""


def build_failure(
    invocation: DbtCliInvocation | None, step: str, error: Exception
) -> list[FailedNode]:
    """What failed: the dbt models and tests of run_results.json, or, when dbt wrote
    none (it did not start, or failed to parse), the step with its error."""
    failures = (
        dbt_failures(invocation.get_artifact("run_results.json"))
        if invocation and (invocation.target_path / "run_results.json").exists()
        else []
    )
    return failures or [FailedNode(name=step, resource_type="step", message=str(error))]


def record_failed_run(instance: DagsterInstance, run_id: str) -> None:
    """Record a failed build run that the dbt asset did not record: a blocking check
    failed before dbt ran or after it published, or an earlier step failed."""
    record = instance.get_run_record_by_id(run_id)
    started_at = (
        datetime.fromtimestamp(record.start_time, UTC)
        if record and record.start_time
        else datetime.now(UTC)
    )
    record_run_failure(get_settings().layout, run_id, started_at, _run_failures(instance, run_id))


def _run_failures(instance: DagsterInstance, run_id: str) -> list[FailedNode]:
    """The run's failed checks of error severity, else its failed steps with their error."""
    checks = [
        entry.dagster_event.event_specific_data
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        if entry.dagster_event
    ]
    failed_checks = [
        FailedNode(
            name=f"{check.asset_key.to_user_string()}:{check.check_name}",
            resource_type="check",
            message=check.description or _failing_rows(check.metadata),
        )
        for check in checks
        if not check.passed and check.severity == AssetCheckSeverity.ERROR
    ]
    steps = [
        (entry.step_key or "run", entry.dagster_event.step_failure_data.error)
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)
        if entry.dagster_event
    ]
    failed_steps = [
        FailedNode(name=step, resource_type="step", message=error.message if error else "failed")
        for step, error in steps
    ]
    # A run cancelled or crashed before any step failed still failed.
    unexplained = FailedNode(name="run", resource_type="step", message="see the Dagster UI")
    return failed_checks or failed_steps or [unexplained]


def _failing_rows(metadata: Mapping[str, MetadataValue]) -> str:
    """The quality checks (orchestration/defs/quality.py) count their failing rows."""
    rows = metadata.get("failing_rows")
    return f"{rows.value} failing rows" if rows is not None else "failed"


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    dagster_dbt_translator=RingsideTranslator(),
)
def ringside_dbt_models(
    context: AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig
) -> Iterator[Any]:
    settings = get_settings()
    # The landed files this build lists stay in place until it ends (compaction).
    with reading_raw(settings.layout):
        started_at = datetime.now(UTC)
        # What has landed now: recorded as built only if this build succeeds; files landing
        # during the build are newer and are read again by the next one.
        landed = build_state.landed_state(settings.layout)
        days = run_days(context.run)
        # What differs from one build to the next is read while SQL runs, not while dbt
        # parses (macros/build_args.sql), so dbt's partial parsing holds between builds.
        build_args: dict[str, Any] = {
            # Staging reads only these days' landed files (all of them with --full-refresh).
            "event_days": [day.isoformat() for day in days],
            "build_stamp": started_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "full_checks": context.run.tags.get(FULL_CHECKS_TAG) == "true",
        }
        dbt_vars = {
            # dagster-dbt may name every model in --select: this is still the whole project.
            "record_build": True,
            "session_timeout_minutes": settings.session_timeout_minutes,
            "ringside_drill": config.drill,
        }
        invocation: DbtCliInvocation | None = None
        try:
            prepare_sources(settings)
            target = build_state.prepare_target(settings)
            if settings.warehouse == "duckdb":
                warehouse.wait_for_writers(settings.layout.generation_path(target.name))
            built = target.state()
            # A database with a build behind it, not rebuilt from scratch: dbt's incremental
            # branches run.
            incremental = bool(built.lineage) and not config.full_refresh
            if incremental and settings.warehouse == "duckdb":
                # Within those days, staging reads only the files the database has not read
                # (a micro-batch's few files, not its days' million rows). PostgreSQL stages
                # from the raw table the run's days were loaded into.
                files = build_state.new_files(settings.layout, days, built)
                build_args["event_files"] = [str(path) for path in files]
            # A run's dbt.log whole (0: no limit): dbt rolls its log over at 10 MB, less
            # than a build of this project logs, which would leave the start of the run
            # (whether dbt parsed) in dbt.log.1.
            args = ["build", "--vars", json.dumps(dbt_vars), "--log-file-max-bytes", "0"]
            if config.full_refresh:
                args.append("--full-refresh")
            # dbt unit tests check the SQL, not the data: a micro-batch skips them; the first
            # build of a home, a full refresh and the daily full check run them.
            if incremental and not build_args["full_checks"]:
                args += ["--exclude-resource-type", "unit_test"]
            # dbt runs as a subprocess that inherits this process's environment; the settings
            # tell it the target, where the landed sources are and how to reach the database.
            os.environ.update(settings.dbt_env())
            run_target = _run_target(settings, context)
            with _parse_kept(run_target, settings.layout.dbt_parse_file(target.name)):
                os.environ[BUILD_ARGS_ENV] = json.dumps(build_args)
                try:
                    invocation = dbt.cli(args, context=context, target_path=run_target)
                finally:
                    # The subprocess has its copy; a later dbt call of this process must
                    # not inherit this build's files and days.
                    del os.environ[BUILD_ARGS_ENV]
                yield from invocation.stream()
            # Only a successful build is served (a failed one raised above).
            lineage = build_state.new_lineage() if config.full_refresh else built.lineage
            target.save(
                build_state.BuildState(
                    # A full refresh or a first build reads every landed day.
                    landed=(
                        landed if not incremental else {**built.landed, **_consumed(landed, days)}
                    ),
                    lineage=lineage or build_state.new_lineage(),
                )
            )
            warehouse.serve(settings, target.name)
        except Exception as exc:
            # Recorded here, in the asset, so `dagster dev` runs are recorded as well as
            # `ringside build`; the run still fails, naming what failed in its summary.
            failures = build_failure(invocation, context.op_execution_context.op.name, exc)
            attempt = BuildAttempt.finished(context.run.run_id, started_at, failures)
            status = record_attempt(settings.layout, attempt)
            raise Failure(
                description=f"nothing new published; failing: {status.failure_summary()}",
                metadata={
                    "failing_nodes": MetadataValue.json([f.model_dump() for f in failures]),
                    "failing_since": MetadataValue.text(
                        f"{status.failing_since:%Y-%m-%d %H:%M} UTC"
                    ),
                },
            ) from exc
        record_attempt(settings.layout, BuildAttempt.finished(context.run.run_id, started_at, []))


# The environment variable carrying the per-build values (macros/build_args.sql).
BUILD_ARGS_ENV = "RINGSIDE_BUILD_ARGS"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"

# run_results.json and the compiled SQL of the last builds, for debugging a failure; a
# run writes ~25 MB and micro-batches run every few minutes.
KEPT_DBT_RUNS = 20


def _run_target(settings: Settings, context: AssetExecutionContext) -> Path:
    """A target directory of this run's own under the home (two builds, of two homes or
    one after the other, never share one), the oldest beyond KEPT_DBT_RUNS removed."""
    runs = settings.layout.dbt_runs_dir
    runs.mkdir(parents=True, exist_ok=True)
    previous = sorted(runs.iterdir(), key=lambda path: path.stat().st_mtime)
    for stale in previous[: max(0, len(previous) - KEPT_DBT_RUNS + 1)]:
        shutil.rmtree(stale, ignore_errors=True)
    return runs / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{context.run.run_id[:8]}"


@contextmanager
def _parse_kept(run_target: Path, kept: Path) -> Iterator[None]:
    """dbt starts from the parse the last build of this generation kept (dbt reads
    partial_parse.msgpack from its target path; dagster-dbt otherwise puts the
    project's own there), parsing only what changed since; when dbt had to parse, its
    new parse is kept for the next build."""
    run_target.mkdir(parents=True, exist_ok=True)
    placed = run_target / PARTIAL_PARSE_FILE
    placed_at = None
    if kept.exists():
        shutil.copyfile(kept, placed)
        placed_at = placed.stat().st_mtime_ns
    try:
        yield
    finally:
        if placed.exists() and placed.stat().st_mtime_ns != placed_at:
            kept.parent.mkdir(parents=True, exist_ok=True)
            scratch = kept.with_suffix(".tmp")
            shutil.copyfile(placed, scratch)
            scratch.replace(kept)


def _consumed(landed: dict[str, float], days: list[date]) -> dict[str, float]:
    """The landed state of the days the build read."""
    wanted = {day.isoformat() for day in days}
    return {day: mtime for day, mtime in landed.items() if day in wanted}


defs = Definitions(assets=[ringside_dbt_models], resources={"dbt": dbt_resource()})
