"""Share links: a read-only public URL to one report. The token is the credential, so
it is 256 random bits shown once; only its SHA-256 is stored (as for API keys). A link
may expire and may be revoked; an unknown token and a dead one are told apart (404 and
410) so a recipient knows whether to ask for a new link."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringside.access.keys import hash_key
from ringside.core.appdb import utcnow
from ringside.core.appdb.reports import Partner, Report, ShareLink
from ringside.core.settings import Settings


class ShareNotFoundError(LookupError):
    """No link has this token (or id): 404."""


class ShareGoneError(LookupError):
    """The link existed but expired or was revoked: 410."""


@dataclass(frozen=True)
class NewShare:
    link: ShareLink
    token: str  # shown to the creator once, never stored


def share_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/shared/{token}"


def create_share(
    db: Session,
    report: Report,
    created_by: str,
    expires_in_days: int | None,
    partner: Partner | None = None,
) -> NewShare:
    """A new link to `report`; `expires_in_days=None` never expires. Without a partner
    the shared page carries the report's branding (as it is when the page is opened)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    link = ShareLink(
        report_id=report.id,
        token_hash=hash_key(token),
        partner_id=partner.id if partner is not None else None,
        created_by=created_by,
        created_at=now,
        expires_at=None if expires_in_days is None else now + timedelta(days=expires_in_days),
    )
    db.add(link)
    db.flush()
    return NewShare(link, token)


def list_shares(db: Session, report_id: int) -> list[ShareLink]:
    """The report's links, newest first (hashes only: a token cannot be shown again)."""
    return list(
        db.scalars(
            select(ShareLink).where(ShareLink.report_id == report_id).order_by(ShareLink.id.desc())
        )
    )


def revoke_share(db: Session, report_id: int, share_id: int) -> ShareLink:
    """Revoke one of the report's links (idempotent: the first revocation time stays)."""
    link = db.get(ShareLink, share_id)
    if link is None or link.report_id != report_id:
        raise ShareNotFoundError(f"report {report_id} has no share link {share_id}")
    link.revoked_at = link.revoked_at or utcnow()
    return link


def is_live(link: ShareLink, now: datetime) -> bool:
    return link.revoked_at is None and (link.expires_at is None or link.expires_at > now)


def resolve_share(db: Session, token: str) -> tuple[ShareLink, Report]:
    """The link and report a token opens, counting the access."""
    link = db.scalar(select(ShareLink).where(ShareLink.token_hash == hash_key(token)))
    if link is None:
        raise ShareNotFoundError("no such share link")
    now = utcnow()
    if link.revoked_at is not None:
        raise ShareGoneError("this share link was revoked")
    if not is_live(link, now):
        raise ShareGoneError("this share link has expired")
    report = db.get(Report, link.report_id)
    if report is None:
        raise ShareNotFoundError("no such share link")
    link.access_count += 1
    link.last_accessed_at = now
    return link, report
