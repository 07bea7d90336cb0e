"""A generated demo platform ingested and built in its own RINGSIDE_HOME, for test
modules that check the marts on realistic data."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingestion.batch import IngestReport, ingest_paths
from orchestration.runner import landed_range, run_build
from ringside.demo.generator import GenerateSummary, generate
from ringside.settings import Settings, get_settings


@dataclass(frozen=True)
class BuiltPlatform:
    settings: Settings
    summary: GenerateSummary
    report: IngestReport


@contextmanager
def built_platform(root: Path, *, days: int, users: int, seed: int) -> Iterator[BuiltPlatform]:
    """Generate, ingest and build everything; the environment points at this platform's
    home until the context exits."""
    mp = pytest.MonkeyPatch()
    settings = Settings(home=root / "home")
    mp.setenv("RINGSIDE_HOME", str(settings.home))
    mp.setenv("DAGSTER_HOME", str(settings.home / "dagster"))
    for name, value in settings.layout.dbt_env().items():
        mp.setenv(name, value)
    get_settings.cache_clear()
    try:
        summary = generate(root / "platform", days=days, users=users, seed=seed)
        report = ingest_paths([summary.out], settings.layout.ensure(), settings, workers=2)
        run_build(*landed_range(settings.layout))
        yield BuiltPlatform(get_settings(), summary, report)
    finally:
        get_settings.cache_clear()
        mp.undo()
