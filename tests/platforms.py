"""A generated demo platform ingested and built in its own RINGSIDE_HOME, for test
modules that check the marts on realistic data."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from ingestion.batch import IngestReport, ingest_paths
from orchestration.runner import landed_days, run_build
from ringside.core.settings import Settings, get_settings
from ringside.demo.generator import GenerateSummary, generate


@dataclass(frozen=True)
class BuiltPlatform:
    settings: Settings
    summary: GenerateSummary
    report: IngestReport


@contextmanager
def platform_environment(settings: Settings) -> Iterator[Settings]:
    """Point the environment (RINGSIDE_*, DAGSTER_HOME, what dbt reads) at these
    settings until the context exits; yields them as `get_settings()` sees them."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RINGSIDE_HOME", str(settings.home))
    mp.setenv("DAGSTER_HOME", str(settings.home / "dagster"))
    # dbt_env() holds RINGSIDE_WAREHOUSE and RINGSIDE_PG_* too.
    for name, value in settings.dbt_env().items():
        mp.setenv(name, value)
    get_settings.cache_clear()
    try:
        yield get_settings()
    finally:
        get_settings.cache_clear()
        mp.undo()


@contextmanager
def built_platform(
    root: Path,
    *,
    days: int,
    users: int,
    seed: int,
    warehouse: Literal["duckdb", "postgres"] = "duckdb",
) -> Iterator[BuiltPlatform]:
    """Generate, ingest and build everything into the given warehouse (PostgreSQL: the
    database of the RINGSIDE_PG_* environment); the environment points at this
    platform until the context exits."""
    with platform_environment(Settings(home=root / "home", warehouse=warehouse)) as settings:
        summary = generate(root / "platform", days=days, users=users, seed=seed)
        report = ingest_paths([summary.out], settings.layout.ensure(), settings, workers=2)
        run_build(landed_days(settings.layout))
        yield BuiltPlatform(settings, summary, report)
