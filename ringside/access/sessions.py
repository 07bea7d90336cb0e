"""Web app sessions, kept server-side: signing in with an API key stores a session row
and gives the browser a random token (256 bits; only its SHA-256 is stored, as for keys).
Every request looks the session up with its key, so signing out, revoking the key or the
session's expiry ends it at once; the cookie holds nothing but the token."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ringside.access.keys import Principal, active, hash_key
from ringside.core.appdb import utcnow
from ringside.core.appdb.access import ApiKey, WebSession

COOKIE_NAME = "ringside_session"


def start_session(db: Session, principal: Principal, hours: float) -> str:
    """A new session for the key `principal` signed in with; its token (the cookie)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        WebSession(
            token_hash=hash_key(token),
            key_id=principal.key_id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    db.flush()
    return token


def session_principal(db: Session, token: str) -> Principal | None:
    """Who a session token signs in: None when the token is unknown, the session ended
    or expired, or its key was revoked."""
    found = db.execute(
        select(WebSession, ApiKey)
        .join(ApiKey, ApiKey.id == WebSession.key_id)
        .where(WebSession.token_hash == hash_key(token))
    ).one_or_none()
    if found is None:
        return None
    web_session, key = found
    if web_session.ended_at is not None or web_session.expires_at <= utcnow():
        return None
    return active(db, key)


def end_session(db: Session, token: str) -> bool:
    """Sign out: the session stops working now; False when no live session had the token."""
    ended = db.execute(
        update(WebSession)
        .where(WebSession.token_hash == hash_key(token), WebSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    return bool(ended.rowcount)  # type: ignore[attr-defined]
