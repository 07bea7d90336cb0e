"""`ringside`: the command line for generating, ingesting, building and serving; the
top layer, which may use every package (README "How it fits together")."""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ringside.cli.common import (
    CliError,
    days_line,
    exec_replacing,
    export_environment,
    served,
    venv_bin,
    warehouse_name,
)
from ringside.cli.keys import keys_app
from ringside.cli.status import status
from ringside.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from orchestration.runner import ChainOutcome

app = typer.Typer(
    help="Ringside analytics warehouse. All state lives under RINGSIDE_HOME (default .ringside/).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Directory to write the demo platform into.")],
    days: Annotated[int, typer.Option(min=1, help="Days of activity.")] = 90,
    users: Annotated[int, typer.Option(min=1, help="Distinct people.")] = 20000,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same files.")] = 7,
    start: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day (UTC).")
    ] = None,
) -> None:
    """Generate a deterministic demo MMA platform: Segment NDJSON events + snapshots."""
    from ringside.demo.generator import generate as run_generate

    kwargs = {"start": start.date()} if start else {}
    summary = run_generate(out, days=days, users=users, seed=seed, **kwargs)
    typer.echo(
        f"generated {summary.events_written:,} events ({summary.invalid_events:,} invalid, "
        f"{summary.duplicate_events:,} duplicates, {summary.late_events:,} late) in "
        f"{len(summary.files)} files, {summary.content_items:,} content items, "
        f"{summary.accounts:,} accounts -> {out}"
    )


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="NDJSON(.gz) files or directories.")],
    workers: Annotated[int, typer.Option(min=1, help="Files ingested in parallel.")] = 1,
    force: Annotated[bool, typer.Option(help="Re-ingest files already ingested.")] = False,
) -> None:
    """Validate, enrich and land events (and content/accounts snapshots)."""
    from ingestion.batch import ingest_paths
    from ingestion.landing import remove_orphaned_temp_files

    settings = get_settings()
    for orphan in remove_orphaned_temp_files(settings.layout):
        typer.echo(f"removed {orphan}, left by a writer that was killed")
    report = ingest_paths(paths, settings.layout.ensure(), settings, workers=workers, force=force)
    typer.echo(report.summary())


@app.command()
def compact(
    rows: Annotated[
        int | None, typer.Option(min=1, help="Rows per merged file (default: compaction_rows).")
    ] = None,
) -> None:
    """Merge each landed day's small files into files of up to `rows` rows (the collector
    and batch ingestion do it on their own every compaction_seconds)."""
    from ingestion.compaction import compact as run_compact

    settings = get_settings()
    report = run_compact(settings.layout.ensure(), rows or settings.compaction_rows, 600.0)
    typer.echo(report.summary())
    if report.deferred:
        typer.echo("deferred merges wait for a running build; run again once it ends")


@app.command()
def build(
    partition: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Build one UTC day (YYYY-MM-DD)."),
    ] = None,
    all_days: Annotated[
        bool,
        typer.Option("--all", help="Read every landed day again (a backfill; not a full refresh)."),
    ] = False,
    full_refresh: Annotated[
        bool, typer.Option(help="Rebuild incremental models from scratch (after upgrades).")
    ] = False,
    models: Annotated[
        bool,
        typer.Option(
            help="Score the ML models afterwards when due, every "
            "RINGSIDE_SCORING_INTERVAL_MINUTES (retraining them when due)."
        ),
    ] = True,
    drill: Annotated[
        bool,
        typer.Option(
            help="Fire drill: a build that fails on purpose (nothing is published), so you "
            "can check that `ringside status`, /health and the pipeline alerts notice."
        ),
    ] = False,
) -> None:
    """Build what landed since the last build (nothing to do when nothing did, unless
    the last build failed: then it is retried) through Dagster, then the ML models, then
    evaluate the alert rules (after a failed build too, then exit non-zero)."""
    from ringside.core.build_state import pending_days
    from ringside.core.pipeline_health import read_build_status

    if partition and all_days:
        raise CliError("give either --partition DAY or --all, not both")
    settings = get_settings()
    if not settings.layout.landed_event_files():
        raise CliError(
            f"no landed events under {settings.layout.raw_events_dir}; "
            "run `ringside ingest PATH` first"
        )
    explicit = partition or all_days or full_refresh or drill
    # Known without starting Dagster or dbt: a sensor tick or a cron job costs little.
    # After a failed build the same command retries it (its days were never recorded).
    if (
        not explicit
        and not pending_days(settings)
        and not read_build_status(settings.layout).failed
    ):
        typer.echo(f"nothing new since the last build; serving {served(settings)}")
        return

    from orchestration.runner import BuildRunFailedError, landed_days, run_build, run_chain

    days = (
        [partition.date()]
        if partition
        else landed_days(settings.layout)
        if all_days or full_refresh
        else None
    )
    typer.echo(f"building into {warehouse_name(settings)}")
    try:
        outcome = run_build(days, full_refresh=full_refresh, drill=drill)
    except BuildRunFailedError:
        # The pipeline alert rules notify about the failure before the command fails.
        _echo_chain(run_chain("ringside_build", False), settings)
        raise
    typer.echo(
        f"run {outcome.run_id}: {days_line(outcome.days)}, {outcome.materialized} assets "
        f"materialized, {outcome.checks.line()}; serving {served(settings)}"
    )
    chained = run_chain("ringside_build", True, scoring=models)
    if models and "ml_scoring" not in chained.jobs:
        typer.echo(
            f"models: scored less than {settings.scoring_interval_minutes} minutes ago "
            "(RINGSIDE_SCORING_INTERVAL_MINUTES); not scored again after this build"
        )
    _echo_chain(chained, settings)


def _echo_chain(chained: "ChainOutcome", settings: Settings) -> None:
    """What the job chain ran after the build: the models' outputs, then the alerts."""
    from orchestration.runner import ALERTS_JOB

    models = [job for job in chained.jobs if job != ALERTS_JOB]
    if models:
        typer.echo(
            f"models ({', '.join(models)}): {chained.materialized} assets materialized, "
            f"{chained.checks.line()}; "
            f"outputs in {settings.layout.ml_dir / 'tables'}, "
            f"executive summaries in {settings.layout.reports_dir}"
        )
    if chained.alerts is not None:
        typer.echo(chained.alerts.line())


# Registered here to keep the order of `ringside --help`.
app.command()(status)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (default RINGSIDE_COLLECTOR_WORKERS, 1).", min=1),
    ] = None,
) -> None:
    """Run the collector and the analytics API (FastAPI, uvicorn). Each worker process
    logs the requests it acknowledges in a slot of its own (docs/events.md, sizing)."""
    import uvicorn

    settings = get_settings()
    settings.layout.ensure()
    uvicorn.run("api.main:app", host=host, port=port, workers=workers or settings.collector_workers)


@app.command()
def ui(port: Annotated[int, typer.Option(help="Dagster UI port.")] = 3000) -> None:
    """Open the Dagster UI (dagster dev) on Ringside's instance."""
    from orchestration.runner import REPO_ROOT, configure_dagster_home

    settings = get_settings()
    dagster_home = configure_dagster_home(settings.layout.ensure())
    export_environment(settings)
    # Started from DAGSTER_HOME so the repo's own dagster.yaml template is not mistaken
    # for the instance configuration (it is copied into DAGSTER_HOME instead).
    exec_replacing(
        [venv_bin("dagster"), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-p", str(port)],
        cwd=dagster_home,
    )


@app.command()
def docs(port: Annotated[int, typer.Option(help="dbt docs port.")] = 8080) -> None:
    """Generate and serve the dbt docs (models, columns, metric definitions, lineage)."""
    from orchestration.dbt_project import DBT_PROJECT_DIR

    settings = get_settings()
    settings.layout.ensure()
    export_environment(settings)
    if settings.layout.serving_path.exists():
        # The catalog (columns, row counts) of what readers see, not of the database
        # the next build writes.
        os.environ["RINGSIDE_DUCKDB_PATH"] = str(settings.layout.serving_path.resolve())
    dbt = [venv_bin("dbt"), "--quiet"]
    where = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    subprocess.run([*dbt, "docs", "generate", *where], check=True)
    exec_replacing([*dbt, "docs", "serve", "--port", str(port), *where])


app.add_typer(keys_app, name="keys")


# Errors that are the user's to fix (exit 2), by module: only a module that was imported
# can have raised its error, and importing them all up front (pandas, Dagster…) would cost
# seconds on every command, `ringside build` with nothing new included.
USER_ERRORS = {
    "ingestion.batch": "IngestError",
    "orchestration.runner": "BuildError",
    "ringside.core.warehouse": "WarehouseNotBuiltError",
}


def _user_errors() -> tuple[type[Exception], ...]:
    loaded = [getattr(sys.modules[m], name) for m, name in USER_ERRORS.items() if m in sys.modules]
    return (CliError, ValueError, *loaded)


def main() -> None:
    try:
        app()
    except subprocess.CalledProcessError as exc:
        typer.echo(
            f"ringside: error: {' '.join(map(str, exc.cmd))} exited {exc.returncode}", err=True
        )
        sys.exit(exc.returncode)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if not isinstance(exc, _user_errors()):
            raise
        typer.echo(f"ringside: error: {exc}", err=True)
        sys.exit(2)
