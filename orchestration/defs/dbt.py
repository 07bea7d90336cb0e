"""dbt models as Dagster assets (dagster-dbt), partitioned by event day."""

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    Config,
    Definitions,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.dbt_project import DBT_EXECUTABLE, dbt_project
from orchestration.defs.partitions import daily_partitions, window_dates
from ringside import warehouse
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
    dbt_vars = {
        "min_date": first_day.isoformat(),
        "max_date": last_day.isoformat(),
        "session_timeout_minutes": settings.session_timeout_minutes,
        "late_event_lookback_days": settings.late_event_lookback_days,
    }
    warehouse.prepare_sources(settings)
    # dbt runs as a subprocess that inherits this process's environment; the settings
    # tell it the target, where the landed sources are and how to reach the database.
    os.environ.update(settings.dbt_env())
    args = ["build", "--vars", json.dumps(dbt_vars)]
    if config.full_refresh:
        args.append("--full-refresh")
    yield from dbt.cli(args, context=context).stream()
    # Only a successful build is served (a failed one raised above).
    warehouse.serve(settings)


defs = Definitions(assets=[ringside_dbt_models], resources={"dbt": dbt_resource()})
