import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import Definitions

from ringside.core.settings import Settings, get_settings
from tests.platforms import BuiltPlatform, built_platform, platform_environment

# The collector lands each request as it is acknowledged (its production default lands
# its log every 10 s): tests read or build what they sent right after sending it. The
# log's own tests (tests/test_collector_log.py) and the collector's flush test set
# their own interval. Subprocesses (live servers, the CLI) inherit it.
os.environ.setdefault("RINGSIDE_COLLECTOR_FLUSH_SECONDS", "0")
# Nor do they compact unless they test compaction (tests/test_compaction.py): the files
# a test landed stay as landed.
os.environ.setdefault("RINGSIDE_COMPACTION_SECONDS", "0")
# The access matrix tries a wrong key on every route from the one address of the test
# client, which the sign-in limit (10 a minute) is there to refuse: tests run with a wide
# one, and tests/test_security_headers.py sets the limits it tests.
os.environ.setdefault("RINGSIDE_RATE_LIMIT_SIGN_IN", "100000/minute")


@pytest.fixture
def ringside_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh RINGSIDE_HOME (and DAGSTER_HOME below it) for one test."""
    home = tmp_path / "home"
    monkeypatch.setenv("RINGSIDE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    # The dbt asset exports these into the process; monkeypatch restores them afterwards.
    for name, value in Settings(home=home).dbt_env().items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def settings(ringside_home: Path) -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def definitions() -> Definitions:
    """The Dagster definitions, loaded after `dbt parse` wrote the manifest they need."""
    from orchestration.dbt_project import prepare_manifest

    prepare_manifest()
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="session")
def business_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The hand-built business events (tests/test_business_metrics.py), built once and
    read by the mart and the API tests."""
    from tests.test_business_metrics import build_business_warehouse

    return build_business_warehouse(tmp_path_factory.mktemp("business"))


@pytest.fixture(scope="session")
def twin_platforms(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[BuiltPlatform, BuiltPlatform]]:
    """One generated platform (10 days, 300 people) built on DuckDB and, from a copy of
    the same landed files, on PostgreSQL (a throwaway database): the parity test compares
    them, the PostgreSQL warehouse tests use the second."""
    from orchestration.runner import landed_days, run_build
    from tests.postgres import throwaway_database

    root = tmp_path_factory.mktemp("twins")
    with built_platform(root / "duckdb", days=10, users=300, seed=5) as on_duckdb:
        shutil.copytree(on_duckdb.settings.layout.home / "raw", root / "postgres" / "raw")
    with throwaway_database() as database:
        settings = Settings(home=root / "postgres", warehouse="postgres", pg_database=database)
        with platform_environment(settings) as settings:
            run_build(landed_days(settings.layout))
        yield on_duckdb, BuiltPlatform(settings, on_duckdb.summary, on_duckdb.report)
