"""Share links: a read-only public URL to one report. The token is the credential, so
it is 256 random bits shown once; only its SHA-256 is stored (as for API keys). A link
may expire and may be revoked, and it ends with its creator's access: once the principal
who made it no longer may share the report (every key revoked, or the role lowered below
what sharing it takes), it stops working. An unknown token and a dead one are told apart
(404 and 410) so a recipient knows whether to ask for a new link."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringside.access.keys import hash_key, strongest
from ringside.core.appdb import utcnow
from ringside.core.appdb.reports import Partner, Report, ShareLink
from ringside.core.settings import Settings
from ringside.reports.library import can_edit


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
    created_by_id: int | None,
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
        created_by_id=created_by_id,
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


def ended_because(db: Session, link: ShareLink, report: Report, now: datetime) -> str | None:
    """Why the link no longer opens the report; None while it does."""
    if link.revoked_at is not None:
        return "this share link was revoked"
    if link.expires_at is not None and link.expires_at <= now:
        return "this share link has expired"
    if link.created_by_id is None:  # a default report's delivery: no one's access to lose
        return None
    creator = strongest(db, link.created_by_id)
    if creator is None or not can_edit(creator, report):
        return "this share link ended: whoever created it may no longer share the report"
    return None


def resolve_share(db: Session, token: str) -> tuple[ShareLink, Report]:
    """The link and report a token opens, counting the access."""
    link = db.scalar(select(ShareLink).where(ShareLink.token_hash == hash_key(token)))
    if link is None:
        raise ShareNotFoundError("no such share link")
    report = db.get(Report, link.report_id)
    if report is None:
        raise ShareNotFoundError("no such share link")
    now = utcnow()
    reason = ended_because(db, link, report, now)
    if reason is not None:
        raise ShareGoneError(reason)
    link.access_count += 1
    link.last_accessed_at = now
    return link, report
