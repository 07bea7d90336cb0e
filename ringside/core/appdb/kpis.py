"""KPI targets: one row per metric and grain (the shape of the `kpi_targets` snapshot)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ringside.core.appdb.base import Base, utcnow


class KpiTarget(Base):
    __tablename__ = "kpi_targets"
    __table_args__ = (UniqueConstraint("metric", "grain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(100))
    grain: Mapped[str] = mapped_column(String(10))
    target: Mapped[float] = mapped_column(Float)
    tolerance: Mapped[float] = mapped_column(Float, default=0.0)
    alert_threshold: Mapped[float | None] = mapped_column(Float)
    owner: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Seed(Base):
    """Seeds applied once (e.g. `kpis` from kpis.yml): deleting every KPI through the API
    must not bring the config file's back at the next start."""

    __tablename__ = "seeds"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
