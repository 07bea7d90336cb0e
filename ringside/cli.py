"""`ringside`: the command line for generating, ingesting, building and serving.

One module because it is one thing, the command table of one Typer app: each command
parses its options, imports its implementation when it runs (so `ringside --help` starts
fast) and prints the outcome; the work itself lives in the packages it calls.
"""

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ringside.access.roles import Role
from ringside.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from ringside.core.pipeline_health import BuildStatus

app = typer.Typer(
    help="Ringside analytics warehouse. All state lives under RINGSIDE_HOME (default .ringside/).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class CliError(Exception):
    """An error worth one clear line to the user, not a traceback."""


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
        typer.echo(f"nothing new since the last build; serving {_served(settings)}")
        return

    from orchestration.runner import (
        BuildRunFailedError,
        landed_days,
        models_due,
        run_alerts,
        run_build,
        run_models,
    )

    days = (
        [partition.date()]
        if partition
        else landed_days(settings.layout)
        if all_days or full_refresh
        else None
    )
    typer.echo(f"building into {_warehouse_name(settings)}")
    try:
        outcome = run_build(days, full_refresh=full_refresh, drill=drill)
    except BuildRunFailedError:
        # The pipeline alert rules notify about the failure before the command fails.
        typer.echo(run_alerts().line())
        raise
    typer.echo(
        f"run {outcome.run_id}: {_days_line(outcome.days)}, {outcome.materialized} assets "
        f"materialized, {outcome.checks.line()}; serving {_served(settings)}"
    )
    if models and not models_due():
        typer.echo(
            f"models: scored less than {settings.scoring_interval_minutes} minutes ago "
            "(RINGSIDE_SCORING_INTERVAL_MINUTES); not scored again after this build"
        )
    elif models:
        scored = run_models()
        typer.echo(
            f"models ({', '.join(scored.jobs)}): {scored.materialized} assets materialized, "
            f"{scored.checks.line()}; "
            f"outputs in {settings.layout.ml_dir / 'tables'}, "
            f"executive summaries in {settings.layout.reports_dir}"
        )
    typer.echo(run_alerts().line())


@app.command()
def status() -> None:
    """Show what has landed and been built, the last build's outcome, and where to look.
    Exits 1 when the last build failed (the served data is then the last good build)."""
    from ringside.core.pipeline_health import read_build_status
    from ringside.core.warehouse import read_serving

    settings = get_settings()
    layout = settings.layout
    landed = layout.landed_event_files()
    build = read_build_status(layout)
    typer.echo(f"RINGSIDE_HOME      {layout.home}")
    _echo_last_build(build)
    typer.echo(
        f"landed events      {sum(map(len, landed.values()))} files over {len(landed)} days"
        f" in {layout.raw_events_dir}"
    )
    quarantined = sorted(layout.quarantine_dir.glob("*/*.parquet"))
    typer.echo(f"quarantine         {len(quarantined)} files in {layout.quarantine_dir}")
    if settings.warehouse == "postgres":
        typer.echo(f"warehouse          {_warehouse_name(settings)}")
        counts = _postgres_row_counts(settings)
    elif not layout.serving_path.exists():
        typer.echo("warehouse          nothing built yet: `ringside ingest PATH`, `ringside build`")
        counts = {}
    else:
        typer.echo(f"warehouse          {layout.serving_path} (served copy, read-only)")
        with read_serving(layout) as con:
            tables = con.execute(
                "select table_name from information_schema.tables order by table_name"
            ).fetchall()
            counts = {
                table: con.execute(f'select count(*) from "{table}"').fetchone()[0]
                for (table,) in tables
            }
    for table, rows in counts.items():
        typer.echo(f"  {table:<32} {rows:>12,} rows")
    typer.echo(
        "\nwhere to look:\n"
        "  ringside ui      Dagster UI at http://127.0.0.1:3000 (assets, runs, checks)\n"
        "  ringside docs    dbt docs at http://127.0.0.1:8080 (models, definitions, lineage)\n"
        "  ringside serve   web app at http://127.0.0.1:8000/app/ (dashboards, reports, report\n"
        "                   builder: sign in with an API key, e.g. the one `make demo` prints);\n"
        "                   API at http://127.0.0.1:8000/docs, e.g. /api/analytics/overview/"
        "?start=YYYY-MM-DD&end=YYYY-MM-DD,\n"
        "                   /api/analytics/funnels/?name=visitor_to_subscriber&start=…&end=…,\n"
        "                   /api/analytics/retention/?target_event=Signed Up&period=week&start=…\n"
        "                   /api/analytics/dashboards/, /api/analytics/reports/ (send an API key:\n"
        "                   `ringside keys create --role admin --name NAME`, then\n"
        "                   Authorization: Bearer KEY)\n"
        + (
            f"  psql -h {settings.pg_host} -p {settings.pg_port} -U {settings.pg_reader_user} "
            f"{settings.pg_database}   SQL over the marts (schema {settings.pg_schema})"
            if settings.warehouse == "postgres"
            else f"  duckdb -readonly {layout.serving_path}   SQL over the marts"
        )
    )
    if build.failed:
        raise typer.Exit(1)


def _echo_last_build(build: "BuildStatus") -> None:
    """The last build's outcome; when it failed, what failed and since when, loudly."""
    last = build.last_attempt
    if last is None:
        typer.echo("last build         none recorded yet")
        return
    outcome = "ok" if last.ok else "FAILED (nothing new published)"
    typer.echo(f"last build         {outcome}: run {last.run_id}, {_when(last.finished_at)} UTC")
    if last.ok:
        return
    typer.echo(
        f"  failing since    {_when(build.failing_since)} UTC; "
        f"last success {_when(build.last_success_at)} UTC"
    )
    for failure in last.failures:
        typer.echo(f"  failed {failure.resource_type} {failure.name}")
        for line in failure.message.splitlines():
            typer.echo(f"    {line}")


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
    _export_environment(settings)
    # Started from DAGSTER_HOME so the repo's own dagster.yaml template is not mistaken
    # for the instance configuration (it is copied into DAGSTER_HOME instead).
    _exec(
        [_venv_bin("dagster"), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-p", str(port)],
        cwd=dagster_home,
    )


@app.command()
def docs(port: Annotated[int, typer.Option(help="dbt docs port.")] = 8080) -> None:
    """Generate and serve the dbt docs (models, columns, metric definitions, lineage)."""
    from orchestration.dbt_project import DBT_PROJECT_DIR

    settings = get_settings()
    settings.layout.ensure()
    _export_environment(settings)
    if settings.layout.serving_path.exists():
        # The catalog (columns, row counts) of what readers see, not of the database
        # the next build writes.
        os.environ["RINGSIDE_DUCKDB_PATH"] = str(settings.layout.serving_path.resolve())
    dbt = [_venv_bin("dbt"), "--quiet"]
    where = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    subprocess.run([*dbt, "docs", "generate", *where], check=True)
    _exec([*dbt, "docs", "serve", "--port", str(port), *where])


keys_app = typer.Typer(
    help="API keys of the analytics API: each has a role, viewer < analyst < admin.",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def create_key(
    role: Annotated[Role, typer.Option(help="viewer, analyst or admin.")],
    name: Annotated[str, typer.Option(help="Who holds the key (reports name owners by it).")],
    email: Annotated[
        str | None, typer.Option(help="Where failing scheduled reports are reported.")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Revoke the active keys of this name first.")
    ] = False,
) -> None:
    """Create an API key and print its secret: the only time it is shown."""
    from ringside.access import keys
    from ringside.core.appdb import session

    with session(get_settings()) as db:
        replaced = keys.revoke_named(db, name) if replace else []
        key, secret = keys.create_key(db, name, role, email)
    for old in replaced:
        typer.echo(f"revoked key {old.id} ({old.name}, {old.prefix}…)")
    typer.echo(f"created {key.role} key {key.id} ({key.name}): {secret}")
    typer.echo("the key is not shown again: store it now (send it as Authorization: Bearer …)")


@keys_app.command("list")
def list_keys(
    include_revoked: Annotated[bool, typer.Option(help="List revoked keys too.")] = False,
) -> None:
    """List the API keys (never their secrets)."""
    from ringside.access import keys
    from ringside.core.appdb import session

    with session(get_settings()) as db:
        listed = keys.list_keys(db, include_revoked=include_revoked)
    rows = [
        [
            str(key.id),
            key.name,
            key.role,
            key.prefix,
            _when(key.created_at),
            _when(key.last_used_at),
            _when(key.revoked_at),
        ]
        for key in listed
    ]
    header = ["id", "name", "role", "prefix", "created", "last used", "revoked"]
    widths = [max(map(len, column)) for column in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[int, typer.Argument(help="The key's id (keys list).")]) -> None:
    """Revoke an API key: requests with it get 401 from now on."""
    from ringside.access import keys
    from ringside.core.appdb import session

    with session(get_settings()) as db:
        key = keys.revoke_key(db, key_id)
    if key is None:
        raise CliError(f"no API key {key_id}")
    typer.echo(f"revoked key {key.id} ({key.name})")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _served(settings: Settings) -> str:
    return (
        str(settings.layout.serving_path)
        if settings.warehouse == "duckdb"
        else _warehouse_name(settings)
    )


def _days_line(days: list[date]) -> str:
    if not days:
        return "no landed day changed"
    span = days[0].isoformat() if len(days) == 1 else f"{days[0]} .. {days[-1]}"
    return f"{len(days)} event day{'s' if len(days) > 1 else ''} read ({span})"


def _warehouse_name(settings: Settings) -> str:
    if settings.warehouse == "postgres":
        return (
            f"PostgreSQL {settings.pg_host}:{settings.pg_port}/{settings.pg_database} "
            f"(schema {settings.pg_schema})"
        )
    return str(settings.layout.warehouse_path)


def _postgres_row_counts(settings: Settings) -> dict[str, int]:
    """Rows per table of the built schema, read as the read-only role."""
    from ringside.core.postgres import connect

    con = connect(settings, reader=True)
    try:
        with con.cursor() as cur:
            cur.execute(
                "select table_name from information_schema.tables "
                "where table_schema = %s order by table_name",
                (settings.pg_schema,),
            )
            tables = [name for (name,) in cur.fetchall()]
            counts = {}
            for table in tables:
                cur.execute(f'select count(*) from "{settings.pg_schema}"."{table}"')
                counts[table] = cur.fetchone()[0]
            return counts
    finally:
        con.close()


def _export_environment(settings: Settings) -> None:
    """Environment for child processes (dagster dev, dbt): an absolute RINGSIDE_HOME,
    what dbt reads (target, sources, connection), and this venv's tools first on PATH."""
    os.environ["RINGSIDE_HOME"] = str(settings.layout.home)
    os.environ.update(settings.dbt_env())
    os.environ["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]
    )


def _exec(argv: list[str], cwd: Path | None = None) -> None:
    """Replace this process with `argv`, so signals (Ctrl-C, SIGTERM) reach it directly."""
    typer.echo(" ".join(argv))
    sys.stdout.flush()
    if cwd is not None:
        os.chdir(cwd)
    os.execv(argv[0], argv)


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
