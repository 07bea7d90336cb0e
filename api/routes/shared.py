"""Shared report pages, public: the token in the URL is the credential (256 random
bits). Read-only: the branded page and the same rows as JSON. An unknown token answers
404; an expired or revoked link 410."""

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from api.deps import SettingsDep
from api.errors import json_problems, problems
from api.queries import report_result
from ringside.core.appdb import session
from ringside.core.appdb.reports import Report, ShareLink
from ringside.reports.branding import branding_for
from ringside.reports.definition import Branding
from ringside.reports.library import query_of
from ringside.reports.page import render_report_html
from ringside.reports.results import ReportResult
from ringside.reports.sharing import ShareGoneError, ShareNotFoundError, resolve_share

router = APIRouter(prefix="/shared", tags=["sharing"])


def _open(settings: SettingsDep, token: str) -> tuple[Report, Branding, ReportResult]:
    """The shared report, its branding and its current results."""
    try:
        with session(settings) as db:
            link, report = resolve_share(db, token)
            branding = branding_for(db, _partner_id(link, report))
    except ShareNotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except ShareGoneError as exc:
        raise HTTPException(status_code=410, detail=str(exc)) from None
    return report, branding, report_result(settings, query_of(report))


def _partner_id(link: ShareLink, report: Report) -> int | None:
    return link.partner_id if link.partner_id is not None else report.partner_id


@router.get(
    "/{token}",
    response_class=HTMLResponse,
    summary="A shared report's page",
    responses=json_problems(404, 410, 503),
)
def page(token: str, settings: SettingsDep) -> HTMLResponse:
    report, branding, result = _open(settings, token)
    html = render_report_html(
        result, title=report.name, description=report.description, branding=branding
    )
    # A shared page is for its recipients, not for search engines or shared caches.
    return HTMLResponse(
        html, headers={"X-Robots-Tag": "noindex", "Cache-Control": "private, no-store"}
    )


@router.get(
    "/{token}/data",
    response_model=ReportResult,
    summary="A shared report's rows",
    responses=problems(404, 410, 503),
)
def data(token: str, settings: SettingsDep) -> ReportResult:
    return _open(settings, token)[2]
