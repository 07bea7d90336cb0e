"""Who may read or change what through the analytics API: principals (the people and
services), their API keys and the web app's sessions.

Identity is the principal's id, never a name: reports, dashboards and share links point
at `principals.id`, so a new key made for a namesake of a revoked principal inherits
nothing. A key's secret is shown once when created; only its SHA-256 is stored (the
secret is 256 random bits, so a fast hash is safe, as GitHub and Stripe do for tokens);
the same holds for a web session's token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ringside.core.appdb.base import Base, utcnow


class PrincipalRecord(Base):
    """A person or service. `name` is for display and may repeat or change."""

    __tablename__ = "principals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    # Where a failing scheduled report of this principal is reported.
    email: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ApiKey(Base):
    """One credential of a principal, with the role it grants (a principal may hold
    several keys: rotation adds one before revoking the old)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # viewer | analyst | admin
    # The key's visible start (rs_xxxxxxxx), to tell keys apart in listings.
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebSession(Base):
    """A signed-in browser: the cookie carries a random token, only its hash is kept,
    so signing out (ended_at) or revoking the key ends the session at once."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
