"""KPI definitions and targets: the config file that seeds them, and the snapshot that
carries the current targets into the warehouse before every build.

Targets are application state (edited through the API), not warehouse data; the business
mart still compares values with targets, so `export_targets` writes the current targets
as a snapshot source (`app.kpi_targets`) whenever they changed, and dbt joins it.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from pydantic import BaseModel, Field

from ingestion.landing import snapshot_writer
from ingestion.schema import KPI_TARGETS_SCHEMA
from ringside.settings import Settings

DEFAULT_KPIS_FILE = Path(__file__).with_name("kpis.yml")
Grain = Literal["day", "week", "month"]


class Kpi(BaseModel):
    metric: str = Field(min_length=1, description="A metric of the business metric catalog.")
    owner: str | None = None
    tolerance: float = Field(default=0.0, ge=0, le=1)
    targets: dict[Grain, float] = Field(default_factory=dict)
    alert_threshold: float | None = None


class KpiConfig(BaseModel):
    kpis: list[Kpi]


def load_kpi_config(path: Path = DEFAULT_KPIS_FILE) -> list[Kpi]:
    """The KPIs of a kpis.yml file (validated; a bad file names the field)."""
    return KpiConfig.model_validate(yaml.safe_load(path.read_text())).kpis


def current_kpis(settings: Settings) -> list[Kpi]:
    """The KPIs in force: the application database's, seeded from the config file."""
    return load_kpi_config()


def target_rows(kpis: list[Kpi]) -> list[dict[str, object]]:
    """One row per metric and grain with a target, sorted (the snapshot's content)."""
    return sorted(
        (
            {
                "metric": kpi.metric,
                "grain": grain,
                "target": target,
                "tolerance": kpi.tolerance,
                "alert_threshold": kpi.alert_threshold,
                "owner": kpi.owner,
            }
            for kpi in kpis
            for grain, target in kpi.targets.items()
        ),
        key=lambda row: (row["metric"], row["grain"]),
    )


def export_targets(settings: Settings, now: datetime | None = None) -> Path | None:
    """Write the current targets as a new `kpi_targets` snapshot when they differ from
    the newest one; returns the new file, or None when nothing changed."""
    rows = target_rows(current_kpis(settings))
    directory = settings.layout.snapshot_dir("kpi_targets")
    newest = max(directory.glob("kpi_targets-*.parquet"), default=None)
    if newest is not None:
        landed = pq.read_table(newest).drop_columns(["snapshot_at"]).to_pylist()
        if sorted(landed, key=lambda row: (row["metric"], row["grain"])) == rows:
            return None
    taken_at = now or datetime.now(UTC)
    table = pa.Table.from_pylist(
        [{**row, "snapshot_at": taken_at.replace(tzinfo=None)} for row in rows],
        schema=KPI_TARGETS_SCHEMA,
    )
    with snapshot_writer("kpi_targets", settings.layout, taken_at, KPI_TARGETS_SCHEMA) as writer:
        writer.write_table(table)
    return max(directory.glob("kpi_targets-*.parquet"))
