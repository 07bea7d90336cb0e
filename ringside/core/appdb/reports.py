"""Saved reports, their runs, share links, partner branding and dashboards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ringside.core.appdb.base import Base, utcnow
from ringside.core.appdb.sealed import SealedJSON


class Partner(Base):
    """White-label branding applied to a report's PDF/HTML output and shared pages."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    logo_url: Mapped[str | None] = mapped_column(Text)
    primary_colour: Mapped[str] = mapped_column(String(7), default="#1f2937")
    accent_colour: Mapped[str] = mapped_column(String(7), default="#c62828")
    footer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Report(Base):
    """A saved question: the query part (`query`, validated by
    ringside.reports.definition.ReportQuery) plus who sees it and when it is delivered."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # None: one of Ringside's default reports (no principal owns it).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))  # table | chart | dashboard
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Encrypted at rest: webhook URLs are credentials.
    recipients: Mapped[dict[str, Any]] = mapped_column(SealedJSON, default=dict)
    visibility: Mapped[str] = mapped_column(String(20), default="private")
    shared_with_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Principal ids (never names: a namesake must not inherit a share).
    shared_with_users: Mapped[list[int]] = mapped_column(JSON, default=list)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), index=True
    )
    last_generated_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ReportRun(Base):
    """One generation of a report (scheduled or on demand) and the files it wrote; its
    deliveries are `notification_deliveries` rows pointing here."""

    __tablename__ = "report_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The log outlives the report (report_id set null, the name kept).
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )
    report_name: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | manual
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|succeeded|failed
    data_version: Mapped[str | None] = mapped_column(String(100))
    rows: Mapped[int | None] = mapped_column(Integer)
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class ShareLink(Base):
    """A read-only public link to one report. Only the token's SHA-256 is stored."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"))
    # The link lives only while this principal may still share the report; None: made by
    # a scheduled delivery of a default report (it lives until it expires).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_accessed_at: Mapped[datetime | None] = mapped_column(DateTime)
    access_count: Mapped[int] = mapped_column(Integer, default=0)


class Dashboard(Base):
    """A dashboard configuration: widgets bound to a report or a metric, their grid
    layout, refresh interval and the roles allowed to open it."""

    __tablename__ = "dashboards"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(20))  # overview | content | user | business
    description: Mapped[str] = mapped_column(Text, default="")
    # None: a default dashboard (no principal owns it).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("principals.id"), index=True)
    widgets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    layout: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    refresh_interval_seconds: Mapped[int] = mapped_column(Integer, default=300)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    allowed_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
