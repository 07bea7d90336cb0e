"""Dashboard configurations (issue 9): the widgets, layout, refresh interval and allowed
roles of each dashboard the key's role may open; the four defaults exist from the
first request on."""

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from api.deps import SettingsDep
from api.security import Viewer
from ringside.appdb import session
from ringside.appdb.reports import Dashboard
from ringside.reports.dashboards import DashboardOut, dashboard_out, may_open, seed_defaults

router = APIRouter(prefix="/api/analytics/dashboards", tags=["dashboards"])


@router.get("/", response_model=list[DashboardOut], summary="The dashboards the key may open")
def list_dashboards(settings: SettingsDep, caller: Viewer) -> list[DashboardOut]:
    with session(settings) as db:
        seed_defaults(db)
        dashboards = db.scalars(select(Dashboard).order_by(Dashboard.id))
        return [dashboard_out(d) for d in dashboards if may_open(caller, d)]


@router.get("/{dashboard_id}", response_model=DashboardOut, summary="One dashboard")
def read_dashboard(dashboard_id: int, settings: SettingsDep, caller: Viewer) -> DashboardOut:
    with session(settings) as db:
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
        return dashboard_out(dashboard)
