"""What the commands share: the user-error type and how settings and times are shown."""

import os
import sys
from datetime import date, datetime
from pathlib import Path

import typer

from ringside.core.settings import Settings


class CliError(Exception):
    """An error worth one clear line to the user, not a traceback."""


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def served(settings: Settings) -> str:
    return (
        str(settings.layout.serving_path)
        if settings.warehouse == "duckdb"
        else warehouse_name(settings)
    )


def days_line(days: list[date]) -> str:
    if not days:
        return "no landed day changed"
    span = days[0].isoformat() if len(days) == 1 else f"{days[0]} .. {days[-1]}"
    return f"{len(days)} event day{'s' if len(days) > 1 else ''} read ({span})"


def warehouse_name(settings: Settings) -> str:
    if settings.warehouse == "postgres":
        return (
            f"PostgreSQL {settings.pg_host}:{settings.pg_port}/{settings.pg_database} "
            f"(schema {settings.pg_schema})"
        )
    return str(settings.layout.warehouse_path)


def export_environment(settings: Settings) -> None:
    """Environment for child processes (dagster dev, dbt): an absolute RINGSIDE_HOME,
    what dbt reads (target, sources, connection), and this venv's tools first on PATH."""
    os.environ["RINGSIDE_HOME"] = str(settings.layout.home)
    os.environ.update(settings.dbt_env())
    os.environ["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]
    )


def exec_replacing(argv: list[str], cwd: Path | None = None) -> None:
    """Replace this process with `argv`, so signals (Ctrl-C, SIGTERM) reach it directly."""
    typer.echo(" ".join(argv))
    sys.stdout.flush()
    if cwd is not None:
        os.chdir(cwd)
    os.execv(argv[0], argv)
