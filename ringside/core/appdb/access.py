"""API keys: who may read or change what through the analytics API. A key's secret is
shown once when created; only its SHA-256 is stored (the secret is 256 random bits, so
a fast hash is safe, as GitHub and Stripe do for tokens)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from ringside.core.appdb.base import Base, utcnow


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The principal: report owners and `shared_with_users` name keys by this.
    name: Mapped[str] = mapped_column(String(100), index=True)
    role: Mapped[str] = mapped_column(String(20))  # viewer | analyst | admin
    # The key's visible start (rs_xxxxxxxx), to tell keys apart in listings.
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Where a failing scheduled report of this principal is reported.
    email: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
