"""Partners (white-label): the name, logo, colours and footer a report's rendered
output and shared pages carry instead of Ringside's own."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringside.core.appdb.reports import Partner
from ringside.core.timestamps import UtcDateTime
from ringside.reports.definition import Branding, Colour

# Columns without a null: a PATCH may change them, not clear them.
REQUIRED = ("name", "primary_colour", "accent_colour")


class PartnerChanges(BaseModel):
    """The fields a PATCH may change (unset fields stay as they are)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    # Shown as an <img src> on public pages: web and inline images only.
    logo_url: str | None = Field(
        default=None, max_length=2000, pattern=r"^(https?://|data:image/)", description="Image URL."
    )
    primary_colour: Colour | None = None
    accent_colour: Colour | None = None
    footer: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _required_not_null(self) -> PartnerChanges:
        nulled = [f for f in REQUIRED if f in self.model_fields_set and getattr(self, f) is None]
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null")
        return self


class PartnerSpec(PartnerChanges):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$", description="URL-safe key.")
    name: str = Field(min_length=1, max_length=200)
    # A new partner starts from Ringside's colours.
    primary_colour: Colour = Branding().primary_colour
    accent_colour: Colour = Branding().accent_colour


class PartnerInfo(BaseModel):
    id: int
    slug: str
    name: str
    logo_url: str | None
    primary_colour: str
    accent_colour: str
    footer: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class PartnerExistsError(ValueError):
    """Another partner has this slug."""


def info(partner: Partner) -> PartnerInfo:
    return PartnerInfo.model_validate(partner, from_attributes=True)


def list_partners(db: Session) -> list[Partner]:
    return list(db.scalars(select(Partner).order_by(Partner.slug)))


def partner_by_slug(db: Session, slug: str) -> Partner | None:
    return db.scalar(select(Partner).where(Partner.slug == slug))


def create_partner(db: Session, spec: PartnerSpec) -> Partner:
    if partner_by_slug(db, spec.slug) is not None:
        raise PartnerExistsError(f"a partner with slug {spec.slug!r} exists")
    partner = Partner(**spec.model_dump())
    db.add(partner)
    db.flush()
    return partner


def update_partner(db: Session, partner: Partner, changes: PartnerChanges) -> Partner:
    for name, value in changes.model_dump(exclude_unset=True).items():
        setattr(partner, name, value)
    db.flush()
    return partner


def delete_partner(db: Session, partner: Partner) -> None:
    """Delete a partner; its reports and links fall back to Ringside's branding."""
    db.delete(partner)
    db.flush()


def branding_for(db: Session, partner_id: int | None) -> Branding:
    """The partner's branding; Ringside's own without a partner (or when it was deleted)."""
    partner = None if partner_id is None else db.get(Partner, partner_id)
    if partner is None:
        return Branding()
    return Branding.model_validate(partner, from_attributes=True)
