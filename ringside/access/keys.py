"""Principals and their API keys. A key is created with a random secret shown once,
stored as its SHA-256, looked up by that hash on every request, and revoked (never
deleted, so the log keeps it). A key belongs to one principal, the identity everything
the caller owns points at; a new key is a new principal unless it is made for an existing
one (rotation), so a namesake never inherits anyone's reports or links."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ringside.access.roles import ROLES, Role
from ringside.core.appdb import utcnow
from ringside.core.appdb.access import ApiKey, PrincipalRecord, WebSession
from ringside.core.timestamps import UtcDateTime

KEY_PREFIX = "rs_"
LAST_USED_GRANULARITY = timedelta(minutes=1)


class KeyInfo(BaseModel):
    """A key as listed: never its secret. `name` and `email` are its principal's."""

    id: int
    principal_id: int
    name: str
    role: Role
    prefix: str
    email: str | None
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None
    revoked_at: UtcDateTime | None


@dataclass(frozen=True)
class Principal:
    """Who is calling: the principal (its id is the identity, its name for display) and
    the role of the key in use."""

    key_id: int
    principal_id: int
    name: str
    role: Role


class PrincipalError(LookupError):
    """A key request naming no principal, or one a name does not pick out."""


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def info(db: Session, key: ApiKey) -> KeyInfo:
    person = db.get_one(PrincipalRecord, key.principal_id)
    return KeyInfo(
        id=key.id,
        principal_id=person.id,
        name=person.name,
        role=key.role,  # type: ignore[arg-type]
        prefix=key.prefix,
        email=person.email,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def create_key(
    db: Session,
    role: Role,
    *,
    name: str | None = None,
    principal_id: int | None = None,
    email: str | None = None,
) -> tuple[KeyInfo, str]:
    """A new key and its secret (shown to the caller once, stored only hashed): for a new
    principal called `name`, or for the existing principal `principal_id`."""
    if principal_id is not None:
        person = db.get(PrincipalRecord, principal_id)
        if person is None:
            raise PrincipalError(f"no principal {principal_id}")
        if email is not None:
            person.email = email
    elif name is not None:
        person = PrincipalRecord(name=name, email=email)
        db.add(person)
        db.flush()
    else:
        raise PrincipalError("a key needs a name (a new principal) or a principal_id")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(principal_id=person.id, role=role, prefix=secret[:11], key_hash=hash_key(secret))
    db.add(key)
    db.flush()
    return info(db, key), secret


def list_keys(db: Session, include_revoked: bool = False) -> list[KeyInfo]:
    query = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return [info(db, key) for key in db.scalars(query)]


def revoke_key(db: Session, key_id: int) -> KeyInfo | None:
    """Revoke a key (idempotent); None when no such key exists. Its web sessions end
    with it."""
    key = db.get(ApiKey, key_id)
    if key is None:
        return None
    _revoke(db, key)
    return info(db, key)


def _revoke(db: Session, key: ApiKey) -> None:
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    # Its sessions are refused from now on (the key is checked on every request); ending
    # them records when.
    db.execute(
        update(WebSession)
        .where(WebSession.key_id == key.id, WebSession.ended_at.is_(None))
        .values(ended_at=key.revoked_at)
    )


def set_role(db: Session, key_id: int, role: Role) -> KeyInfo | None:
    """Change what a key may do, from its next request on; None when no such key."""
    key = db.get(ApiKey, key_id)
    if key is None:
        return None
    key.role = role
    return info(db, key)


def active_principal_named(db: Session, name: str) -> int | None:
    """The one principal called `name` that holds an active key; None when there is
    none; `PrincipalError` when several do (a name does not pick one out)."""
    found = set(
        db.scalars(
            select(ApiKey.principal_id)
            .join(PrincipalRecord, PrincipalRecord.id == ApiKey.principal_id)
            .where(PrincipalRecord.name == name, ApiKey.revoked_at.is_(None))
        )
    )
    if len(found) > 1:
        raise PrincipalError(
            f"{len(found)} principals named {name!r} hold active keys: name one by its id "
            f"({', '.join(map(str, sorted(found)))})"
        )
    return found.pop() if found else None


def revoke_principal_keys(db: Session, principal_id: int) -> list[KeyInfo]:
    """Revoke every active key of the principal (to replace a key, e.g. the demo's)."""
    keys = db.scalars(
        select(ApiKey).where(ApiKey.principal_id == principal_id, ApiKey.revoked_at.is_(None))
    )
    revoked = []
    for key in keys:
        _revoke(db, key)
        revoked.append(info(db, key))
    return revoked


def authenticate(db: Session, secret: str) -> Principal | None:
    """The principal of an active key, recording its use (to the minute: a read request
    must not turn into a write each time); None for an unknown or revoked key."""
    return active(db, db.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))))


def active(db: Session, key: ApiKey | None) -> Principal | None:
    """The caller a key makes, if the key is active (its use recorded)."""
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_GRANULARITY:
        key.last_used_at = now
    person = db.get_one(PrincipalRecord, key.principal_id)
    return Principal(key.id, person.id, person.name, key.role)  # type: ignore[arg-type]


def strongest(db: Session, principal_id: int) -> Principal | None:
    """The principal acting with the highest role among its active keys; None when it
    holds none (every key revoked): what it may still do, e.g. keep a share link alive."""
    keys = list(
        db.scalars(
            select(ApiKey).where(ApiKey.principal_id == principal_id, ApiKey.revoked_at.is_(None))
        )
    )
    if not keys:
        return None
    best = max(keys, key=lambda key: ROLES.index(key.role))  # type: ignore[arg-type]
    person = db.get_one(PrincipalRecord, principal_id)
    return Principal(best.id, person.id, person.name, best.role)  # type: ignore[arg-type]
