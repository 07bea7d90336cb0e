"""Notification deliveries: one row per alert transition (or report run) and channel,
kept with every attempt's outcome so a failed notification stays visible and is
retried, never dropped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ringside.core.appdb.base import Base, utcnow
from ringside.core.appdb.sealed import SealedText
from ringside.core.redaction import redact_destination


class NotificationDelivery(Base):
    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Exactly one of the two: what the notification is about.
    transition_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_transitions.id", ondelete="CASCADE"), index=True
    )
    report_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_runs.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))  # webhook | email
    # Where it goes (the URL, or the comma-separated recipients), encrypted at rest. The
    # column is `destination`; the attribute of that name is the redacted form, so
    # whatever lists deliveries (the delivery logs) shows no credential by default.
    address: Mapped[str] = mapped_column("destination", SealedText)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def destination(self) -> str:
        """The address without its secret part: a webhook's host, masked recipients."""
        return redact_destination(self.channel, self.address)
