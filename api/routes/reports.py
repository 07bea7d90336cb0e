"""Saved reports (issue 9): list, create, read, change, delete, duplicate and run them;
preview an unsaved definition; the catalog of what a report may ask for.

A report the caller may not read answers 404 (as if it did not exist); one they may
read but not change answers 403 to PATCH and DELETE. Names the compiler does not know
answer 422 naming the field and the allowed values (the handlers in api/main.py).
Recipients (addresses, webhook URLs: credentials) are shown in full to those who may
change the report, its owner and admins, and redacted to everyone else."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from api.deps import MAX_ID, SettingsDep, id_path
from api.errors import problems
from api.queries import report_result
from api.security import Analyst, Viewer
from ringside.access.keys import Principal
from ringside.bi.catalog import metric_catalog
from ringside.core.appdb import session
from ringside.core.appdb.reports import Report
from ringside.reports.compiler import BUSINESS, dimension_label, mart_sources
from ringside.reports.dashboards import seed_defaults
from ringside.reports.definition import (
    DateRange,
    Filter,
    ReportQuery,
    ReportSpec,
    ReportType,
    Visibility,
)
from ringside.reports.library import (
    SavedReport,
    can_edit,
    create_report,
    duplicate_report,
    get_report_for,
    list_reports,
    query_of,
    saved,
    update_report,
)
from ringside.reports.results import ReportResult

router = APIRouter(prefix="/api/analytics/reports", tags=["reports"], responses=problems(401, 403))

ReportId = Annotated[int, id_path("report")]


class CatalogMetric(BaseModel):
    name: str
    label: str
    description: str
    unit: str
    format: str
    dimensions: list[str]


class CatalogSource(BaseModel):
    name: str
    label: str
    grains: list[str]
    dimensions: dict[str, str]
    metrics: list[CatalogMetric]


@router.get("/catalog", response_model=list[CatalogSource], summary="What reports may ask")
def catalog(_: Viewer) -> list[CatalogSource]:
    """Every source a report may read: the business metric catalog (sliced by one
    dimension at a time, per day, week or month) and the declared mart sources (any of
    their dimensions, per day, week, month or in total)."""
    business = metric_catalog().values()
    sources = [
        CatalogSource(
            name=BUSINESS,
            label="Business metrics",
            grains=["day", "week", "month"],
            dimensions={d: dimension_label(d) for e in business for d in e.dimensions},
            metrics=[CatalogMetric.model_validate(e, from_attributes=True) for e in business],
        )
    ]
    for name, mart in mart_sources().items():
        sources.append(
            CatalogSource(
                name=name,
                label=mart.label,
                grains=["day", "week", "month", "total"],
                dimensions=mart.dimensions,
                metrics=[
                    CatalogMetric(
                        name=f"{name}.{measure_name}",
                        label=measure.label,
                        description=measure.description(mart.model),
                        unit=measure.unit,
                        format=measure.format,
                        dimensions=list(mart.dimensions),
                    )
                    for measure_name, measure in mart.measures.items()
                ],
            )
        )
    return sources


@router.get("/", response_model=list[SavedReport], summary="The reports the key may read")
def list_saved(
    settings: SettingsDep,
    caller: Viewer,
    owner: Annotated[
        str | None,
        Query(max_length=100, description="Only this owner's: a principal id, or a name."),
    ] = None,
    type: Annotated[ReportType | None, Query(description="Only this type.")] = None,
    visibility: Annotated[Visibility | None, Query(description="Only this visibility.")] = None,
) -> list[SavedReport]:
    with session(settings) as db:
        seed_defaults(db)
        # Digits name a principal by id (ids past MAX_ID name nobody: match no name either).
        whose = int(owner) if owner is not None and owner.isdigit() else owner
        if isinstance(whose, int) and whose > MAX_ID:
            return []
        return [_shown(db, caller, r) for r in list_reports(db, caller, whose, type, visibility)]


@router.post(
    "/",
    response_model=SavedReport,
    status_code=201,
    summary="Create a report",
    responses=problems(400),
)
def create(spec: ReportSpec, settings: SettingsDep, caller: Analyst) -> SavedReport:
    with session(settings) as db:
        return _shown(db, caller, create_report(db, caller.principal_id, spec))


@router.post(
    "/preview",
    response_model=ReportResult,
    summary="Run an unsaved definition",
    responses=problems(400, 503),
)
def preview(query: ReportQuery, settings: SettingsDep, _: Analyst) -> ReportResult:
    """The results a definition would give, without saving it (the report builder)."""
    return report_result(settings, query)


@router.get(
    "/{report_id}",
    response_model=SavedReport,
    summary="A report's definition",
    responses=problems(404),
)
def read(report_id: ReportId, settings: SettingsDep, caller: Viewer) -> SavedReport:
    with session(settings) as db:
        return _shown(db, caller, get_report_for(db, caller, report_id))


@router.patch(
    "/{report_id}",
    response_model=SavedReport,
    summary="Change a report",
    responses=problems(400, 404),
)
def change(
    report_id: ReportId,
    changes: Annotated[
        dict[str, Any], Body(description="Any fields of the definition; the rest stay.")
    ],
    settings: SettingsDep,
    caller: Analyst,
) -> SavedReport:
    unknown = sorted(set(changes) - set(ReportSpec.model_fields))
    if unknown:
        raise RequestValidationError(
            [
                {"loc": ("body", name), "msg": "not a report field", "type": "extra_forbidden"}
                for name in unknown
            ]
        )
    with session(settings) as db:
        report = get_report_for(db, caller, report_id, edit=True)
        try:
            return _shown(db, caller, update_report(db, report, changes))
        except ValidationError as exc:
            raise RequestValidationError(
                [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
            ) from None


@router.delete("/{report_id}", status_code=204, summary="Delete a report", responses=problems(404))
def delete(report_id: ReportId, settings: SettingsDep, caller: Analyst) -> Response:
    with session(settings) as db:
        db.delete(get_report_for(db, caller, report_id, edit=True))
    return Response(status_code=204)


class RunOptions(BaseModel):
    """What a dashboard changes when it shows a saved report: its own date range and
    filters added to the report's (the definition itself stays as saved)."""

    date_range: DateRange | None = None
    filters: list[Filter] = Field(default_factory=list, max_length=20)


@router.post(
    "/{report_id}/run",
    response_model=ReportResult,
    summary="A report's results",
    responses=problems(400, 404, 503),
)
def run(
    report_id: ReportId, settings: SettingsDep, caller: Viewer, options: RunOptions | None = None
) -> ReportResult:
    """The rows of the report on the latest build (cached until the next build),
    optionally over another date range and with more filters (`filters.N` of a refused
    filter counts the report's own filters first)."""
    with session(settings) as db:
        query = query_of(get_report_for(db, caller, report_id))
    if options is not None:
        query = query.model_copy(
            update={
                "date_range": options.date_range or query.date_range,
                "filters": [*query.filters, *options.filters],
            }
        )
    return report_result(settings, query)


@router.post(
    "/{report_id}/duplicate",
    response_model=SavedReport,
    status_code=201,
    summary="Copy a report",
    responses=problems(404),
)
def duplicate(report_id: ReportId, settings: SettingsDep, caller: Analyst) -> SavedReport:
    """A private copy owned by the caller, without schedule or recipients."""
    with session(settings) as db:
        copy = duplicate_report(db, get_report_for(db, caller, report_id), caller.principal_id)
        return _shown(db, caller, copy)


def _shown(db: Session, caller: Principal, report: Report) -> SavedReport:
    """The report as `caller` may see it: the recipients redacted unless they may
    change them (so no one edits the redacted form back in)."""
    found = saved(db, report)
    if can_edit(caller, report):
        return found
    return found.model_copy(update={"recipients": found.recipients.redacted()})
