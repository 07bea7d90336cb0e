"""dbt models as Dagster assets (dagster-dbt), partitioned by event day."""

import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    Config,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    Failure,
    MetadataValue,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource, dbt_assets

from orchestration.dbt_project import DBT_EXECUTABLE, dbt_project
from orchestration.defs.partitions import daily_partitions, window_dates
from ringside import warehouse
from ringside.pipeline_health import (
    BuildAttempt,
    FailedNode,
    dbt_failures,
    record_attempt,
    record_run_failure,
)
from ringside.settings import get_settings


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
    partitions_def=daily_partitions,
    # A range of days (a backfill, `ringside build --all`) is one dbt invocation.
    backfill_policy=BackfillPolicy.single_run(),
    dagster_dbt_translator=RingsideTranslator(),
)
def ringside_dbt_models(
    context: AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig
) -> Iterator[Any]:
    first_day, last_day = window_dates(context.partition_time_window)
    settings = get_settings()
    started_at = datetime.now(UTC)
    dbt_vars = {
        "min_date": first_day.isoformat(),
        "max_date": last_day.isoformat(),
        "session_timeout_minutes": settings.session_timeout_minutes,
        "late_event_lookback_days": settings.late_event_lookback_days,
        "ringside_drill": config.drill,
    }
    args = ["build", "--vars", json.dumps(dbt_vars)]
    if config.full_refresh:
        args.append("--full-refresh")
    invocation: DbtCliInvocation | None = None
    try:
        warehouse.prepare_sources(settings)
        # dbt runs as a subprocess that inherits this process's environment; the settings
        # tell it the target, where the landed sources are and how to reach the database.
        os.environ.update(settings.dbt_env())
        invocation = dbt.cli(args, context=context)
        yield from invocation.stream()
        # Only a successful build is served (a failed one raised above).
        warehouse.serve(settings)
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
                "failing_since": MetadataValue.text(f"{status.failing_since:%Y-%m-%d %H:%M} UTC"),
            },
        ) from exc
    record_attempt(settings.layout, BuildAttempt.finished(context.run.run_id, started_at, []))


defs = Definitions(assets=[ringside_dbt_models], resources={"dbt": dbt_resource()})
