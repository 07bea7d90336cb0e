"""API keys: created with a random secret shown once, stored as its SHA-256, looked up
by that hash on every request, revoked (never deleted, so the log keeps its name)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringside.access.roles import Role
from ringside.core.appdb import utcnow
from ringside.core.appdb.access import ApiKey
from ringside.core.timestamps import UtcDateTime

KEY_PREFIX = "rs_"
LAST_USED_GRANULARITY = timedelta(minutes=1)


class KeyInfo(BaseModel):
    """A key as listed: never its secret."""

    id: int
    name: str
    role: Role
    prefix: str
    email: str | None
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None
    revoked_at: UtcDateTime | None


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name (report owners and shares name it) and role."""

    key_id: int
    name: str
    role: Role


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def info(key: ApiKey) -> KeyInfo:
    return KeyInfo.model_validate(key, from_attributes=True)


def create_key(db: Session, name: str, role: Role, email: str | None = None) -> tuple[KeyInfo, str]:
    """A new key and its secret (shown to the caller once, stored only hashed)."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=role, prefix=secret[:11], key_hash=hash_key(secret), email=email)
    db.add(key)
    db.flush()
    return info(key), secret


def list_keys(db: Session, include_revoked: bool = False) -> list[KeyInfo]:
    query = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return [info(key) for key in db.scalars(query)]


def revoke_key(db: Session, key_id: int) -> KeyInfo | None:
    """Revoke a key (idempotent); None when no such key exists."""
    key = db.get(ApiKey, key_id)
    if key is None:
        return None
    key.revoked_at = key.revoked_at or utcnow()
    return info(key)


def revoke_named(db: Session, name: str) -> list[KeyInfo]:
    """Revoke every active key of this name (to replace a key, e.g. the demo's)."""
    active = db.scalars(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)))
    revoked = []
    for key in active:
        key.revoked_at = utcnow()
        revoked.append(info(key))
    return revoked


def authenticate(db: Session, secret: str) -> Principal | None:
    """The principal of an active key, recording its use (to the minute: a read request
    must not turn into a write each time); None for an unknown or revoked key."""
    return _active(db.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))))


def authenticate_id(db: Session, key_id: int) -> Principal | None:
    """As `authenticate`, for a key named by its id (a signed session cookie carries it)."""
    return _active(db.get(ApiKey, key_id))


def _active(key: ApiKey | None) -> Principal | None:
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_GRANULARITY:
        key.last_used_at = now
    return Principal(key.id, key.name, key.role)  # type: ignore[arg-type]
