"""Share links of a report (the owner or an admin creates, lists and revokes them), its
delivery log (the runs and what each delivery did) and delivering it now, under
/api/analytics/reports/{report_id}/."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SettingsDep, id_path
from api.errors import problems
from api.security import Analyst, Viewer
from ringside.core.appdb import session, utcnow
from ringside.core.appdb.notifications import NotificationDelivery
from ringside.core.appdb.reports import Partner, Report, ReportRun, ShareLink
from ringside.core.timestamps import UtcDateTime
from ringside.reports.branding import list_partners, partner_by_slug
from ringside.reports.compiler import ReportError
from ringside.reports.delivery import deliver_report
from ringside.reports.library import can_edit, get_report_for, owner_name
from ringside.reports.sharing import (
    ShareNotFoundError,
    create_share,
    ended_because,
    list_shares,
    revoke_share,
    share_url,
)

router = APIRouter(
    prefix="/api/analytics/reports", tags=["sharing"], responses=problems(401, 403, 404)
)

ReportId = Annotated[int, id_path("report")]
ShareId = Annotated[int, id_path("share link")]


class ShareRequest(BaseModel):
    expires_in_days: int | None = Field(
        default=30, ge=1, le=3650, description="Days the link works; null: until revoked."
    )
    partner: str | None = Field(
        default=None,
        description="Partner slug whose branding the page carries; default the report's.",
    )


class ShareInfo(BaseModel):
    id: int
    report_id: int
    partner: str | None
    created_by_id: int | None = Field(
        description="The principal who made the link (a scheduled delivery makes it on the "
        "owner's behalf); null: a delivery of a default report."
    )
    created_by: str = Field(description="Their display name.")
    created_at: UtcDateTime
    expires_at: UtcDateTime | None
    revoked_at: UtcDateTime | None
    last_accessed_at: UtcDateTime | None
    access_count: int
    active: bool = Field(
        description="Whether the link opens the report now: not revoked or expired, and its "
        "creator may still share the report."
    )


class NewShareInfo(ShareInfo):
    url: str = Field(description="The public page; shown once (only a hash is kept).")
    token: str = Field(description="The link's secret; shown once.")


class DeliveryInfo(BaseModel):
    id: int
    channel: str
    destination: str
    status: str
    attempts: int
    last_error: str | None
    last_attempt_at: UtcDateTime | None
    delivered_at: UtcDateTime | None


class RunInfo(BaseModel):
    id: int
    report_id: int | None
    report_name: str
    trigger: str
    status: str
    data_version: str | None
    rows: int | None
    files: list[str] = Field(description="File names written by the run.")
    error: str | None
    started_at: UtcDateTime
    finished_at: UtcDateTime | None
    deliveries: list[DeliveryInfo]


def _share_info(
    db: Session, report: Report, link: ShareLink, slugs: dict[int, str], now: datetime
) -> ShareInfo:
    return ShareInfo(
        id=link.id,
        report_id=link.report_id,
        partner=slugs.get(link.partner_id) if link.partner_id is not None else None,
        created_by_id=link.created_by_id,
        created_by=owner_name(db, link.created_by_id),
        created_at=link.created_at,
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        last_accessed_at=link.last_accessed_at,
        access_count=link.access_count,
        active=ended_because(db, link, report, now) is None,
    )


@router.post(
    "/{report_id}/shares",
    response_model=NewShareInfo,
    status_code=201,
    summary="Create a share link",
    responses=problems(400),
)
def create(
    report_id: ReportId, request: ShareRequest, settings: SettingsDep, caller: Analyst
) -> NewShareInfo:
    """A public read-only link to the report's page (`url`) and data (`url` + `/data`).
    The token is in the response only: store the URL, it cannot be shown again."""
    with session(settings) as db:
        report = get_report_for(db, caller, report_id, edit=True)
        partner: Partner | None = None
        if request.partner is not None:
            partner = partner_by_slug(db, request.partner)
            if partner is None:
                known = [p.slug for p in list_partners(db)]
                raise ReportError("partner", f"unknown partner {request.partner!r}", known)
        new = create_share(db, report, caller.principal_id, request.expires_in_days, partner)
        slugs = {p.id: p.slug for p in list_partners(db)}
        shown = _share_info(db, report, new.link, slugs, new.link.created_at)
    return NewShareInfo(**shown.model_dump(), url=share_url(settings, new.token), token=new.token)


@router.get("/{report_id}/shares", response_model=list[ShareInfo], summary="Share links")
def list_all(report_id: ReportId, settings: SettingsDep, caller: Analyst) -> list[ShareInfo]:
    """The report's links, newest first, without their tokens."""
    with session(settings) as db:
        report = get_report_for(db, caller, report_id, edit=True)
        slugs = {p.id: p.slug for p in list_partners(db)}
        now = utcnow()
        return [_share_info(db, report, link, slugs, now) for link in list_shares(db, report_id)]


@router.delete("/{report_id}/shares/{share_id}", status_code=204, summary="Revoke a link")
def revoke(
    report_id: ReportId, share_id: ShareId, settings: SettingsDep, caller: Analyst
) -> Response:
    """The link answers 410 from now on."""
    with session(settings) as db:
        get_report_for(db, caller, report_id, edit=True)
        try:
            revoke_share(db, report_id, share_id)
        except ShareNotFoundError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
    return Response(status_code=204)


@router.get("/{report_id}/runs", response_model=list[RunInfo], summary="Delivery log")
def runs(
    report_id: ReportId,
    settings: SettingsDep,
    caller: Viewer,
    limit: Annotated[int, Query(ge=1, le=500, description="Newest runs first.")] = 50,
) -> list[RunInfo]:
    """The report's generations, newest first, each with its deliveries' outcome."""
    with session(settings) as db:
        report = get_report_for(db, caller, report_id)
        found = db.scalars(
            select(ReportRun)
            .where(ReportRun.report_id == report_id)
            .order_by(ReportRun.id.desc())
            .limit(limit)
        ).all()
        # Where deliveries went, in full, only to whoever may change the recipients.
        return _run_infos(db, found, full=can_edit(caller, report))


@router.post("/{report_id}/deliver", response_model=RunInfo, summary="Deliver now")
def deliver_now(report_id: ReportId, settings: SettingsDep, caller: Analyst) -> RunInfo:
    """Generate the report and send it to its recipients now, as its schedule would
    (to try a schedule out, or resend): the run, with each delivery's outcome."""
    with session(settings) as db:
        get_report_for(db, caller, report_id, edit=True)
    run = deliver_report(settings, report_id, trigger="manual")
    assert run is not None  # only a scheduled trigger skips an unscheduled report
    with session(settings) as db:
        return _run_infos(db, [db.get_one(ReportRun, run.id)], full=True)[0]


def _run_infos(db: Session, found: Sequence[ReportRun], *, full: bool) -> list[RunInfo]:
    """The runs and their deliveries; `full`: destinations as they are, else redacted."""
    by_run: defaultdict[int | None, list[DeliveryInfo]] = defaultdict(list)
    for delivery in db.scalars(
        select(NotificationDelivery)
        .where(NotificationDelivery.report_run_id.in_([run.id for run in found]))
        .order_by(NotificationDelivery.id)
    ):
        shown = DeliveryInfo.model_validate(delivery, from_attributes=True)
        if full:
            shown.destination = delivery.address
        by_run[delivery.report_run_id].append(shown)
    return [
        RunInfo(
            id=run.id,
            report_id=run.report_id,
            report_name=run.report_name,
            trigger=run.trigger,
            status=run.status,
            data_version=run.data_version,
            rows=run.rows,
            files=[Path(f).name for f in run.files],
            error=run.error,
            started_at=run.started_at,
            finished_at=run.finished_at,
            deliveries=by_run[run.id],
        )
        for run in found
    ]
