"""KPI definitions and targets: the config file that seeds them, the application
database that holds them afterwards, and the snapshot that carries the current targets
into the warehouse before every build.

Targets are application state (edited through the API), not warehouse data; the business
mart still compares values with targets, so `export_targets` writes the current targets
as a snapshot source (`app.kpi_targets`) whenever they changed, and dbt joins it.
"""

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ingestion.landing import snapshot_writer
from ingestion.schema import KPI_TARGETS_SCHEMA
from ringside.bi.catalog import Grain, metric_catalog
from ringside.core.appdb import session
from ringside.core.appdb.alerts import AlertRule
from ringside.core.appdb.kpis import KpiTarget, Seed
from ringside.core.settings import Settings

DEFAULT_KPIS_FILE = Path(__file__).with_name("kpis.yml")


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


def catalog_metrics() -> list[str]:
    """The metric names of the catalog, sorted."""
    return sorted(metric_catalog())


def current_kpis(settings: Settings) -> list[Kpi]:
    """The KPIs in force: the application database's, seeded from kpis.yml on first use."""
    with session(settings) as db:
        seed_kpis(db)
        return read_kpis(db)


def seed_kpis(db: Session, path: Path = DEFAULT_KPIS_FILE) -> bool:
    """Write the config file's KPIs once per database, each `alert_threshold` as a daily
    threshold rule without channels (history only; add channels through the API). False
    when already seeded (even if every KPI was deleted since: the database, not the
    file, is the truth then)."""
    if db.get(Seed, "kpis") is not None:
        return False
    directions = {name: entry.direction for name, entry in metric_catalog().items()}
    for kpi in load_kpi_config(path):
        if kpi.metric not in directions:
            raise ValueError(f"{path}: {kpi.metric!r} is not a metric of the catalog")
        save_kpi(db, kpi)
        if kpi.alert_threshold is not None:
            db.add(threshold_rule(kpi.metric, kpi.alert_threshold, directions[kpi.metric]))
    db.add(Seed(name="kpis"))
    db.flush()
    return True


def threshold_rule(metric: str, threshold: float, direction: str) -> AlertRule:
    """An alert when a day's value passes `threshold` on the metric's bad side."""
    operator = "below" if direction == "up" else "above"
    return AlertRule(
        name=f"{metric} {operator} {threshold:g} (KPI alert threshold)",
        kind="threshold",
        subject=metric,
        grain="day",
        params={"operator": operator, "value": threshold},
        channels={"webhooks": [], "email": []},
    )


def read_kpis(db: Session) -> list[Kpi]:
    """The KPIs of the database, by metric; tolerance, owner and threshold are per KPI
    (the same on each of its grain rows)."""
    rows = db.scalars(select(KpiTarget).order_by(KpiTarget.metric, KpiTarget.grain)).all()
    kpis: dict[str, Kpi] = {}
    for row in rows:
        kpi = kpis.setdefault(
            row.metric,
            Kpi(
                metric=row.metric,
                owner=row.owner,
                tolerance=row.tolerance,
                alert_threshold=row.alert_threshold,
            ),
        )
        kpi.targets[row.grain] = row.target  # type: ignore[index]  # grain checked on write
    return list(kpis.values())


def save_kpi(db: Session, kpi: Kpi) -> None:
    """Create or replace a KPI: its grain rows become exactly `kpi.targets`."""
    delete_kpi(db, kpi.metric)
    db.add_all(
        KpiTarget(
            metric=kpi.metric,
            grain=grain,
            target=target,
            tolerance=kpi.tolerance,
            alert_threshold=kpi.alert_threshold,
            owner=kpi.owner,
        )
        for grain, target in kpi.targets.items()
    )
    db.flush()


def delete_kpi(db: Session, metric: str) -> bool:
    """Remove a KPI's targets; False when it had none."""
    deleted = db.execute(delete(KpiTarget).where(KpiTarget.metric == metric)).rowcount
    db.flush()
    return bool(deleted)


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
