"""Saved reports in the application database: create, read, list, update, duplicate,
delete, and who may see or change each one.

Visibility: `private` reports are read by their owner (and admins); `shared` ones also by
the roles in `shared_with_roles` and every role above them (viewer < analyst < admin),
and by the principals in `shared_with_users`; `public` ones by every key. Only the owner
and admins change or delete a report (and share it). Owners and users are principals,
named by id: a name given in `shared_with_users` is resolved to its principal on save."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringside.access.keys import (
    Principal,
    PrincipalError,
    active_principal_named,
)
from ringside.access.roles import allows
from ringside.core.appdb.access import PrincipalRecord
from ringside.core.appdb.reports import Partner, Report
from ringside.core.timestamps import UtcDateTime
from ringside.reports.compiler import compile_report
from ringside.reports.definition import (
    Recipients,
    ReportQuery,
    ReportSpec,
    ReportType,
    Visibility,
)
from ringside.reports.results import today_utc
from ringside.reports.sources import ReportError

# Who owns the default reports and dashboards, for display (they have no principal).
SYSTEM_OWNER = "ringside"


class ReportNotFoundError(LookupError):
    """No such report, or one the caller may not read (the two look the same, so
    private reports do not reveal that they exist)."""


class ReportForbiddenError(PermissionError):
    """The caller may read the report but not change it."""


class SavedReport(ReportSpec):
    """A report as stored: the definition plus its owner and bookkeeping."""

    id: int
    owner_id: int | None = Field(description="The owning principal; null: a default report.")
    owner: str = Field(description="The owner's display name.")
    created_at: UtcDateTime
    updated_at: UtcDateTime
    last_generated_at: UtcDateTime | None
    last_status: str | None
    last_error: str | None


def can_read(principal: Principal, report: Report) -> bool:
    if allows(principal.role, "admin") or report.owner_id == principal.principal_id:
        return True
    if report.visibility == "public":
        return True
    return report.visibility == "shared" and (
        any(allows(principal.role, role) for role in report.shared_with_roles)
        or principal.principal_id in report.shared_with_users
    )


def can_edit(principal: Principal, report: Report) -> bool:
    return allows(principal.role, "admin") or (
        report.owner_id == principal.principal_id and allows(principal.role, "analyst")
    )


def owner_name(db: Session, owner_id: int | None) -> str:
    """Who owns a report or dashboard, for display: the default ones are Ringside's."""
    # The session's identity map answers repeats (a list of one owner's reports) at once.
    return SYSTEM_OWNER if owner_id is None else db.get_one(PrincipalRecord, owner_id).name


def get_report_for(db: Session, principal: Principal, report_id: int, edit: bool = False) -> Report:
    """The report if `principal` may read it (and change it, with `edit`)."""
    report = db.get(Report, report_id)
    if report is None or not can_read(principal, report):
        raise ReportNotFoundError(f"no report {report_id}")
    if edit and not can_edit(principal, report):
        raise ReportForbiddenError(
            f"report {report_id} belongs to {owner_name(db, report.owner_id)!r}; only its "
            "owner or an admin may change it"
        )
    return report


def query_of(report: Report) -> ReportQuery:
    return ReportQuery.model_validate(report.query)


def spec_of(db: Session, report: Report) -> ReportSpec:
    partner = db.get(Partner, report.partner_id) if report.partner_id is not None else None
    return ReportSpec.model_validate(
        {
            **report.query,
            "name": report.name,
            "description": report.description,
            "type": report.type,
            "schedule": report.schedule,
            "recipients": report.recipients,
            "visibility": report.visibility,
            "shared_with_roles": report.shared_with_roles,
            "shared_with_users": report.shared_with_users,
            "partner": partner.slug if partner else None,
        }
    )


def saved(db: Session, report: Report) -> SavedReport:
    return SavedReport(
        **spec_of(db, report).model_dump(),
        id=report.id,
        owner_id=report.owner_id,
        owner=owner_name(db, report.owner_id),
        created_at=report.created_at,
        updated_at=report.updated_at,
        last_generated_at=report.last_generated_at,
        last_status=report.last_status,
        last_error=report.last_error,
    )


def _validated(db: Session, spec: ReportSpec) -> int | None:
    """Refuse what cannot run (unknown names, incompatible pairs: the compiler decides,
    no warehouse needed); the partner's id."""
    compile_report(spec.query(), None, today_utc())
    if spec.partner is None:
        return None
    partner = db.scalar(select(Partner).where(Partner.slug == spec.partner))
    if partner is None:
        known = list(db.scalars(select(Partner.slug).order_by(Partner.slug)))
        raise ReportError("partner", f"unknown partner {spec.partner!r}", known)
    return partner.id


def _principal_ids(db: Session, users: list[int | str]) -> list[int]:
    """`shared_with_users` as principal ids: ids must exist, a name must pick out the one
    principal of that name holding an active key."""
    ids: list[int] = []
    for index, user in enumerate(users):
        field = f"shared_with_users.{index}"
        if isinstance(user, int):
            if db.get(PrincipalRecord, user) is None:
                raise ReportError(field, f"no principal {user}")
            found: int | None = user
        else:
            try:
                found = active_principal_named(db, user)
            except PrincipalError as exc:
                raise ReportError(field, str(exc)) from exc
            if found is None:
                raise ReportError(field, f"no one named {user!r} holds an active key")
        if found not in ids:
            ids.append(found)
    return ids


def _apply(db: Session, report: Report, spec: ReportSpec, partner_id: int | None) -> None:
    report.name = spec.name
    report.description = spec.description
    report.type = spec.type
    report.query = spec.query().model_dump(mode="json")
    report.schedule = spec.schedule.model_dump(mode="json") if spec.schedule else None
    report.recipients = spec.recipients.model_dump(mode="json")
    report.visibility = spec.visibility
    report.shared_with_roles = list(spec.shared_with_roles)
    report.shared_with_users = _principal_ids(db, spec.shared_with_users)
    report.partner_id = partner_id


def create_report(db: Session, owner_id: int | None, spec: ReportSpec) -> Report:
    """A new report owned by the principal `owner_id` (None: one of Ringside's defaults)."""
    report = Report(owner_id=owner_id)
    _apply(db, report, spec, _validated(db, spec))
    db.add(report)
    db.flush()
    return report


def update_report(db: Session, report: Report, changes: dict[str, object]) -> Report:
    """Apply a partial update (PATCH): the merged definition is validated whole."""
    merged = ReportSpec.model_validate({**spec_of(db, report).model_dump(), **changes})
    _apply(db, report, merged, _validated(db, merged))
    db.flush()
    return report


def duplicate_report(db: Session, report: Report, owner_id: int) -> Report:
    """A private copy owned by the caller, without schedule or recipients (a copy must
    not start mailing people)."""
    spec = spec_of(db, report).model_copy(
        update={
            "name": f"{report.name} (copy)"[:200],
            "schedule": None,
            "recipients": Recipients(),
            "visibility": "private",
            "shared_with_roles": [],
            "shared_with_users": [],
        }
    )
    return create_report(db, owner_id, spec)


def list_reports(
    db: Session,
    principal: Principal,
    owner: int | str | None = None,
    report_type: ReportType | None = None,
    visibility: Visibility | None = None,
) -> list[Report]:
    query = select(Report).order_by(Report.id)
    if isinstance(owner, int):
        query = query.where(Report.owner_id == owner)
    elif owner is not None:
        named = select(PrincipalRecord.id).where(PrincipalRecord.name == owner)
        query = query.where(Report.owner_id.in_(named))
    if report_type is not None:
        query = query.where(Report.type == report_type)
    if visibility is not None:
        query = query.where(Report.visibility == visibility)
    return [report for report in db.scalars(query) if can_read(principal, report)]
