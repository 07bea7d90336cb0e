"""`ringside status`: what has landed, the last build's outcome, and where to look."""

from typing import TYPE_CHECKING

import typer

from ringside.cli.common import warehouse_name, when
from ringside.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from ringside.core.pipeline_health import BuildStatus


def status() -> None:
    """Show what has landed and been built, the last build's outcome, and where to look.
    Exits 1 when the last build failed (the served data is then the last good build)."""
    from ringside.core.pipeline_health import read_build_status

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
        typer.echo(f"warehouse          {warehouse_name(settings)}")
        counts = _row_counts(settings)
    elif not layout.serving_path.exists():
        typer.echo("warehouse          nothing built yet: `ringside ingest PATH`, `ringside build`")
        counts = {}
    else:
        typer.echo(f"warehouse          {layout.serving_path} (served copy, read-only)")
        counts = _row_counts(settings)
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
    typer.echo(f"last build         {outcome}: run {last.run_id}, {when(last.finished_at)} UTC")
    if last.ok:
        return
    typer.echo(
        f"  failing since    {when(build.failing_since)} UTC; "
        f"last success {when(build.last_success_at)} UTC"
    )
    for failure in last.failures:
        typer.echo(f"  failed {failure.resource_type} {failure.name}")
        for line in failure.message.splitlines():
            typer.echo(f"    {line}")


def _row_counts(settings: Settings) -> dict[str, int]:
    """Rows per table or view of the served build, read as readers do (read-only)."""
    from ringside.core.warehouse import open_reader

    with open_reader(settings) as reader:
        tables = reader.rows(
            "select table_name from information_schema.tables "
            "where table_schema = current_schema() order by table_name",
            {},
        )
        counts = {}
        for row in tables:
            (count,) = reader.rows(f'select count(*) as n from "{row["table_name"]}"', {})
            counts[row["table_name"]] = count["n"]
        return counts
