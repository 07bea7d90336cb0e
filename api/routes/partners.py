"""Partners (white-label branding): anyone with a key lists them; admins create,
change and delete them. A report or share link names a partner by slug."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Response

from api.deps import SettingsDep, id_path
from api.errors import problems
from api.security import Admin, Viewer
from ringside.core.appdb import session
from ringside.core.appdb.reports import Partner
from ringside.reports.branding import (
    PartnerChanges,
    PartnerExistsError,
    PartnerInfo,
    PartnerSpec,
    create_partner,
    delete_partner,
    info,
    list_partners,
    update_partner,
)

router = APIRouter(prefix="/api/analytics/partners", tags=["sharing"], responses=problems(401, 403))

PartnerId = Annotated[int, id_path("partner")]


def _found(partner: Partner | None, partner_id: int) -> Partner:
    if partner is None:
        raise HTTPException(status_code=404, detail=f"no partner {partner_id}")
    return partner


@router.get("/", response_model=list[PartnerInfo], summary="Partners and their branding")
def list_all(settings: SettingsDep, _: Viewer) -> list[PartnerInfo]:
    with session(settings) as db:
        return [info(p) for p in list_partners(db)]


@router.post(
    "/",
    response_model=PartnerInfo,
    status_code=201,
    summary="Add a partner",
    responses=problems(400, 409),
)
def create(spec: PartnerSpec, settings: SettingsDep, _: Admin) -> PartnerInfo:
    with session(settings) as db:
        try:
            return info(create_partner(db, spec))
        except PartnerExistsError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None


@router.patch(
    "/{partner_id}",
    response_model=PartnerInfo,
    summary="Change a partner",
    responses=problems(400, 404),
)
def change(
    partner_id: PartnerId, changes: PartnerChanges, settings: SettingsDep, _: Admin
) -> PartnerInfo:
    with session(settings) as db:
        partner = _found(db.get(Partner, partner_id), partner_id)
        return info(update_partner(db, partner, changes))


@router.delete(
    "/{partner_id}", status_code=204, summary="Delete a partner", responses=problems(404)
)
def delete(partner_id: PartnerId, settings: SettingsDep, _: Admin) -> Response:
    """Its reports and share links fall back to Ringside's branding."""
    with session(settings) as db:
        delete_partner(db, _found(db.get(Partner, partner_id), partner_id))
    return Response(status_code=204)
