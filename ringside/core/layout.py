"""Where each kind of Ringside data lives. The only module that builds these paths.

Everything is below one root (``RINGSIDE_HOME``)::

    raw/events/event_date=YYYY-MM-DD/<batch>.parquet   landed events, append-only
    raw/quarantine/received_date=YYYY-MM-DD/<batch>.parquet   rejected events + reasons
    raw/snapshots/<name>/<name>-<UTC stamp>.parquet     content / accounts / KPI target snapshots
    raw/wal/<n>/<seq>-<id>.wal                          the collector's write-ahead log, per process
    state/                                              ingestion bookkeeping, data version,
                                                        build_status.json (last build outcome),
                                                        raw.lock, compaction/ (journals)
    warehouse/ringside-{a,b}.duckdb                     two generations of dbt's database:
                                                        readers use one while dbt builds the other
    serving/ringside.duckdb                             link to the generation readers use
    ml/tables/<name>.parquet                            ML outputs (forecasts, scores…)
    ml/models/<model>/<version>.joblib (+ .json)        saved models and their metrics
    app/ringside.sqlite                                 application database (KPI targets,
                                                        alert rules, reports, dashboards,
                                                        share links, API keys; default)
    reports/executive_summary/<weekly|monthly>/<label>.{html,pdf}   executive summaries
    reports/custom/<report id>/<run label>.<format>     scheduled report deliveries
    dagster/                                            DAGSTER_HOME
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

# The dbt project ships with the code (not under RINGSIDE_HOME): its models, seeds and
# the saved funnel definitions in dbt_project.yml.
DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
# content/accounts are exported by the application and ingested; kpi_targets is written
# from Ringside's own application database before every build (ringside/bi/kpis.py).
SNAPSHOT_NAMES = ("content", "accounts", "kpi_targets")
# The partition that holds the empty placeholder file dbt needs before any event landed.
PLACEHOLDER_DAY = date(1970, 1, 1)


@dataclass(frozen=True)
class Layout:
    home: Path

    @property
    def raw_events_dir(self) -> Path:
        return self.home / "raw" / "events"

    def raw_events_partition(self, day: date) -> Path:
        return self.raw_events_dir / f"event_date={day.isoformat()}"

    @property
    def raw_events_glob(self) -> str:
        return str(self.raw_events_dir / "*" / "*.parquet")

    def landed_event_files(self, days: Iterable[date] | None = None) -> dict[date, list[Path]]:
        """Landed event files by UTC event day, sorted (the placeholder day excluded);
        only the given days when ``days`` is set, without listing the others."""
        directories = (
            sorted(self.raw_events_dir.glob("event_date=*"))
            if days is None
            else [self.raw_events_partition(day) for day in sorted(set(days))]
        )
        by_day: dict[date, list[Path]] = {}
        for directory in directories:
            files = sorted(p for p in directory.glob("*.parquet") if p.stat().st_size > 0)
            day = date.fromisoformat(directory.name.removeprefix("event_date="))
            if files and day != PLACEHOLDER_DAY:
                by_day[day] = files
        return by_day

    @property
    def collector_log_dir(self) -> Path:
        """The collector's write-ahead logs, one slot per process (ingestion/collector_log.py)."""
        return self.home / "raw" / "wal"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "raw" / "quarantine"

    def quarantine_partition(self, day: date) -> Path:
        return self.quarantine_dir / f"received_date={day.isoformat()}"

    @property
    def quarantine_glob(self) -> str:
        return str(self.quarantine_dir / "*" / "*.parquet")

    def snapshot_dir(self, name: str) -> Path:
        if name not in SNAPSHOT_NAMES:
            raise ValueError(f"unknown snapshot {name!r}; expected one of {SNAPSHOT_NAMES}")
        return self.home / "raw" / "snapshots" / name

    def snapshot_glob(self, name: str) -> str:
        return str(self.snapshot_dir(name) / "*.parquet")

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def data_version_path(self) -> Path:
        """The version stamp of the last successful build (report caches key on it)."""
        return self.state_dir / "data_version"

    @property
    def build_status_path(self) -> Path:
        """The outcome of the last build attempts: failing nodes, since when, last success."""
        return self.state_dir / "build_status.json"

    @property
    def secret_key_path(self) -> Path:
        """The generated secret that encrypts the application database's secrets (mode
        0600; ringside/core/crypto.py): losing it loses them."""
        return self.state_dir / "secret_key"

    @property
    def raw_lock_path(self) -> Path:
        """Readers of landed files hold it shared; the compactor's swap, exclusive
        (ringside/core/raw_lock.py)."""
        return self.state_dir / "raw.lock"

    @property
    def compaction_dir(self) -> Path:
        """The compactor's lock and the journals of its swaps (ingestion/compaction.py)."""
        return self.state_dir / "compaction"

    def generation_path(self, name: str) -> Path:
        """One of the two DuckDB generations (``a``, ``b``) dbt builds in turn."""
        return self.home / "warehouse" / f"ringside-{name}.duckdb"

    @property
    def warehouse_path(self) -> Path:
        """The generation dbt builds into next: the one readers are not using."""
        served = self.served_generation()
        return self.generation_path("b" if served == "a" else "a")

    @property
    def serving_path(self) -> Path:
        """What readers open: a link to the served generation (ringside/core/warehouse.py)."""
        return self.home / "serving" / "ringside.duckdb"

    def served_generation(self) -> str | None:
        """The generation the serving link names; None before the first publish."""
        try:
            target = Path(os.readlink(self.serving_path))
        except OSError:  # no link yet, or a plain file
            return None
        return target.name.removeprefix("ringside-").removesuffix(".duckdb")

    def generation_state_path(self, name: str) -> Path:
        """What a generation has built (ringside/core/build_state.py)."""
        return self.state_dir / f"generation-{name}.json"

    @property
    def ml_dir(self) -> Path:
        return self.home / "ml"

    def ml_table_path(self, name: str) -> Path:
        """An ML output table (forecasts, scores…), one Parquet file replaced whole."""
        return self.ml_dir / "tables" / f"{name}.parquet"

    def model_dir(self, name: str) -> Path:
        """Saved versions of one model (joblib files plus their metadata JSON)."""
        return self.ml_dir / "models" / name

    @property
    def app_db_path(self) -> Path:
        """The SQLite application database, used when no app database URL is set."""
        return self.home / "app" / "ringside.sqlite"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    def report_file(self, report: str, kind: str, label: str, suffix: str) -> Path:
        """One rendering of a report, e.g. executive_summary/weekly/2026-W47.pdf."""
        return self.reports_dir / report / kind / f"{label}.{suffix}"

    @property
    def dbt_runs_dir(self) -> Path:
        """dbt's target and log directory of each build run (run_results.json, compiled
        SQL), the newest few kept (orchestration/defs/dbt.py)."""
        return self.home / "dbt_runs"

    def dbt_parse_file(self, generation: str) -> Path:
        """dbt's parsed project (partial_parse.msgpack) of the last build of a generation
        that parsed it: the next build of that generation starts from it and parses only
        what changed. One per generation, since the parse holds the database's path."""
        return self.home / "dbt_parse" / f"{generation}.msgpack"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    def ensure(self) -> Layout:
        for path in (
            self.raw_events_dir,
            self.quarantine_dir,
            *(self.snapshot_dir(n) for n in SNAPSHOT_NAMES),
            self.state_dir,
            self.warehouse_path.parent,
            self.serving_path.parent,
            self.dagster_home,
        ):
            path.mkdir(parents=True, exist_ok=True)
        return self

    def dbt_env(self) -> dict[str, str]:
        """Environment that tells the dbt project where sources and the database are."""
        return {
            "RINGSIDE_DUCKDB_PATH": str(self.warehouse_path),
            "RINGSIDE_RAW_EVENTS_GLOB": self.raw_events_glob,
            "RINGSIDE_QUARANTINE_GLOB": self.quarantine_glob,
            "RINGSIDE_CONTENT_GLOB": self.snapshot_glob("content"),
            "RINGSIDE_ACCOUNTS_GLOB": self.snapshot_glob("accounts"),
            "RINGSIDE_KPI_TARGETS_GLOB": self.snapshot_glob("kpi_targets"),
        }
