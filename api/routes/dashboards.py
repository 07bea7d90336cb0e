"""Dashboard configurations (issues 9 and 10): the widgets, layout, refresh interval and
allowed roles of each dashboard the key's role may open (the four defaults exist from the
first request on); analysts create dashboards and change their own, admins any; and the
context the web app's toolbar needs (the last day with data, the filter values)."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SettingsDep, id_path
from api.errors import invalid, problems
from api.queries import warehouse
from api.security import Analyst, Viewer
from ringside.access.keys import Principal
from ringside.core.appdb import session
from ringside.core.appdb.reports import Dashboard
from ringside.core.cache import VersionedCache
from ringside.core.settings import Settings
from ringside.core.warehouse import data_version
from ringside.reports.compiler import BUSINESS
from ringside.reports.dashboards import (
    DashboardError,
    DashboardIn,
    DashboardOut,
    DashboardPatch,
    create_dashboard,
    dashboard_out,
    may_edit,
    may_open,
    seed_defaults,
    update_dashboard,
)
from ringside.reports.library import owner_name
from ringside.reports.results import last_data_day

router = APIRouter(
    prefix="/api/analytics/dashboards", tags=["dashboards"], responses=problems(401, 403)
)

DashboardId = Annotated[int, id_path("dashboard")]

# Dashboard-wide filters: (name, label, the dimension widgets filter on). Their values are
# the sessions' (every person-facing slice starts from a session).
GLOBAL_FILTERS = (
    ("device", "Device", "device_type"),
    ("country", "Country", "country"),
    ("source", "Source", "source"),
)


class GlobalFilter(BaseModel):
    name: str
    label: str
    dimension: str = Field(description="The report dimension the filter sets where it applies.")
    values: list[str]


class DashboardContext(BaseModel):
    last_data_day: date | None = Field(description="The newest day of the business metrics.")
    data_version: str | None
    filters: list[GlobalFilter]


# Only the newest data version is ever asked for again.
_contexts: VersionedCache[DashboardContext] = VersionedCache(1)


@contextmanager
def _editing(settings: Settings) -> Iterator[Session]:
    """A session whose dashboard errors become 422s naming the body field."""
    with session(settings) as db:
        try:
            yield db
        except DashboardError as exc:
            raise invalid("body", exc.field, exc.message) from exc


def _dashboard(db: Session, caller: Principal, dashboard_id: int, edit: bool = False) -> Dashboard:
    seed_defaults(db)
    dashboard = db.get(Dashboard, dashboard_id)
    if dashboard is None:
        raise HTTPException(status_code=404, detail=f"no dashboard {dashboard_id}")
    if not may_open(caller, dashboard):
        raise HTTPException(
            status_code=403,
            detail=f"dashboard {dashboard.name!r} is open to "
            f"{', '.join(dashboard.allowed_roles)}; the key has {caller.role}",
        )
    if edit and not may_edit(caller, dashboard):
        whose = (
            "a default dashboard"
            if dashboard.is_default
            else f"owned by {owner_name(db, dashboard.owner_id)!r}"
        )
        raise HTTPException(
            status_code=403,
            detail=f"dashboard {dashboard.name!r} is {whose}: only its owner or an admin "
            "may change it",
        )
    return dashboard


@router.get("/", response_model=list[DashboardOut], summary="The dashboards the key may open")
def list_dashboards(settings: SettingsDep, caller: Viewer) -> list[DashboardOut]:
    with session(settings) as db:
        seed_defaults(db)
        dashboards = db.scalars(select(Dashboard).order_by(Dashboard.id))
        return [dashboard_out(db, d) for d in dashboards if may_open(caller, d)]


@router.post(
    "/",
    response_model=DashboardOut,
    status_code=201,
    summary="Create a dashboard",
    responses=problems(400),
)
def create(body: DashboardIn, settings: SettingsDep, caller: Analyst) -> DashboardOut:
    with _editing(settings) as db:
        seed_defaults(db)
        return dashboard_out(db, create_dashboard(db, caller, body))


@router.get(
    "/filters",
    response_model=DashboardContext,
    summary="The web app's date and filter context",
    responses=problems(503),
)
def context(settings: SettingsDep, _: Viewer) -> DashboardContext:
    """The last day with data (where relative ranges end) and the values each
    dashboard-wide filter offers, read once per data version."""
    version = data_version(settings)
    cached = _contexts.get("context", version)
    if cached is not None:
        return cached
    union = " union all ".join(
        f"select distinct '{name}' as filter, cast({column} as varchar) as value "
        f"from fct_sessions where {column} is not null"
        for name, _, column in GLOBAL_FILTERS
    )
    with warehouse(settings) as reader:
        values = reader.rows(f"{union} order by filter, value", {})
        # The day relative report ranges end on: the presets end there too.
        last_day = last_data_day(reader, BUSINESS, version)
    found = DashboardContext(
        last_data_day=last_day,
        data_version=version,
        filters=[
            GlobalFilter(
                name=name,
                label=label,
                dimension=column,
                values=[row["value"] for row in values if row["filter"] == name],
            )
            for name, label, column in GLOBAL_FILTERS
        ],
    )
    _contexts.put("context", version, found)
    return found


@router.get(
    "/{dashboard_id}", response_model=DashboardOut, summary="One dashboard", responses=problems(404)
)
def read_dashboard(
    dashboard_id: DashboardId, settings: SettingsDep, caller: Viewer
) -> DashboardOut:
    with session(settings) as db:
        return dashboard_out(db, _dashboard(db, caller, dashboard_id))


@router.patch(
    "/{dashboard_id}",
    response_model=DashboardOut,
    summary="Change a dashboard",
    responses=problems(400, 404),
)
def change(
    dashboard_id: DashboardId, body: DashboardPatch, settings: SettingsDep, caller: Analyst
) -> DashboardOut:
    with _editing(settings) as db:
        dashboard = _dashboard(db, caller, dashboard_id, edit=True)
        return dashboard_out(db, update_dashboard(db, caller, dashboard, body))


@router.delete(
    "/{dashboard_id}", status_code=204, summary="Delete a dashboard", responses=problems(404)
)
def delete(dashboard_id: DashboardId, settings: SettingsDep, caller: Analyst) -> Response:
    with session(settings) as db:
        db.delete(_dashboard(db, caller, dashboard_id, edit=True))
    return Response(status_code=204)
