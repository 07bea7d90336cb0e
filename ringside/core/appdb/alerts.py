"""Alert rules (with their current state) and their history of state transitions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ringside.core.appdb.base import Base, utcnow
from ringside.core.appdb.sealed import SealedJSON


class AlertRule(Base):
    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # threshold | change | anomaly | pipeline
    # A business metric (threshold, change), an ml_anomalies series (anomaly) or the
    # watched build job (pipeline: ringside_build).
    subject: Mapped[str] = mapped_column(String(100))
    grain: Mapped[str] = mapped_column(String(10), default="day")
    dimension: Mapped[str] = mapped_column(String(100), default="all")
    dimension_value: Mapped[str] = mapped_column(String(200), default="all")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Encrypted at rest: webhook URLs are credentials.
    channels: Mapped[dict[str, Any]] = mapped_column(SealedJSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The state machine: ok -> firing -> resolved (-> firing ...).
    state: Mapped[str] = mapped_column(String(10), default="ok")
    state_since: Mapped[datetime | None] = mapped_column(DateTime)
    last_evaluated_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class AlertTransition(Base):
    """One change of a rule's state; the history outlives the rule (rule_id set null)."""

    __tablename__ = "alert_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="SET NULL"), index=True
    )
    rule_name: Mapped[str] = mapped_column(String(200))
    from_state: Mapped[str] = mapped_column(String(10))
    to_state: Mapped[str] = mapped_column(String(10), index=True)
    value: Mapped[float | None] = mapped_column(Float)
    period_start: Mapped[date | None] = mapped_column(Date)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
