"""Saved reports in the application database: create, read, list, update, duplicate,
delete, and who may see or change each one.

Visibility: `private` reports are read by their owner (and admins); `shared` ones also by
the roles in `shared_with_roles` and the key names in `shared_with_users`; `public` ones
by every key. Only the owner and admins change or delete a report (and share it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringside.access.keys import Principal
from ringside.access.roles import allows
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


class ReportNotFoundError(LookupError):
    """No such report, or one the caller may not read (the two look the same, so
    private reports do not reveal that they exist)."""


class ReportForbiddenError(PermissionError):
    """The caller may read the report but not change it."""


class SavedReport(ReportSpec):
    """A report as stored: the definition plus its owner and bookkeeping."""

    id: int
    owner: str
    created_at: UtcDateTime
    updated_at: UtcDateTime
    last_generated_at: UtcDateTime | None
    last_status: str | None
    last_error: str | None


def can_read(principal: Principal, report: Report) -> bool:
    if allows(principal.role, "admin") or report.owner == principal.name:
        return True
    if report.visibility == "public":
        return True
    return report.visibility == "shared" and (
        principal.role in report.shared_with_roles or principal.name in report.shared_with_users
    )


def can_edit(principal: Principal, report: Report) -> bool:
    return allows(principal.role, "admin") or (
        report.owner == principal.name and allows(principal.role, "analyst")
    )


def get_report_for(db: Session, principal: Principal, report_id: int, edit: bool = False) -> Report:
    """The report if `principal` may read it (and change it, with `edit`)."""
    report = db.get(Report, report_id)
    if report is None or not can_read(principal, report):
        raise ReportNotFoundError(f"no report {report_id}")
    if edit and not can_edit(principal, report):
        raise ReportForbiddenError(
            f"report {report_id} belongs to {report.owner!r}; only its owner or an admin "
            "may change it"
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
        owner=report.owner,
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


def _apply(report: Report, spec: ReportSpec, partner_id: int | None) -> None:
    report.name = spec.name
    report.description = spec.description
    report.type = spec.type
    report.query = spec.query().model_dump(mode="json")
    report.schedule = spec.schedule.model_dump(mode="json") if spec.schedule else None
    report.recipients = spec.recipients.model_dump(mode="json")
    report.visibility = spec.visibility
    report.shared_with_roles = list(spec.shared_with_roles)
    report.shared_with_users = list(spec.shared_with_users)
    report.partner_id = partner_id


def create_report(db: Session, owner: str, spec: ReportSpec) -> Report:
    report = Report(owner=owner)
    _apply(report, spec, _validated(db, spec))
    db.add(report)
    db.flush()
    return report


def update_report(db: Session, report: Report, changes: dict[str, object]) -> Report:
    """Apply a partial update (PATCH): the merged definition is validated whole."""
    merged = ReportSpec.model_validate({**spec_of(db, report).model_dump(), **changes})
    _apply(report, merged, _validated(db, merged))
    db.flush()
    return report


def duplicate_report(db: Session, report: Report, owner: str) -> Report:
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
    return create_report(db, owner, spec)


def list_reports(
    db: Session,
    principal: Principal,
    owner: str | None = None,
    report_type: ReportType | None = None,
    visibility: Visibility | None = None,
) -> list[Report]:
    query = select(Report).order_by(Report.id)
    if owner is not None:
        query = query.where(Report.owner == owner)
    if report_type is not None:
        query = query.where(Report.type == report_type)
    if visibility is not None:
        query = query.where(Report.visibility == visibility)
    return [report for report in db.scalars(query) if can_read(principal, report)]
