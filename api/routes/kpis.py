"""KPI targets (application state): list, create/replace and delete. A change reaches
`mart_business_metrics_daily` at the next build, which snapshots the targets first."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from pydantic import BaseModel, Field

from api.deps import SettingsDep
from api.errors import invalid, problems
from api.security import require
from ringside.bi.kpis import Grain, Kpi, catalog_metrics, delete_kpi, read_kpis, save_kpi, seed_kpis
from ringside.core.appdb import session

router = APIRouter(
    prefix="/api/analytics/kpis",
    tags=["business"],
    dependencies=[Depends(require("viewer"))],
    responses=problems(401, 403),
)

MetricPath = Annotated[str, Path(description="A metric of the business metric catalog.")]


class KpiIn(BaseModel):
    """A KPI's targets and settings; PUT replaces all of them."""

    owner: str | None = Field(default=None, description="Who answers for the KPI.")
    tolerance: float = Field(
        default=0.0, ge=0, le=1, description="Fraction of the target still on target."
    )
    targets: dict[Grain, float] = Field(min_length=1, description="Target per grain.")
    alert_threshold: float | None = Field(
        default=None, description="A day's value beyond it, in the bad direction, alerts."
    )


def known_metric(metric: str) -> str:
    """The metric, or a 422 naming the path field and listing the catalog."""
    known = catalog_metrics()
    if metric not in known:
        raise invalid(
            "path",
            "metric",
            f"unknown metric {metric!r}; known metrics: {', '.join(known)}",
            metric,
        )
    return metric


@router.get("/", response_model=list[Kpi], summary="The KPIs with their targets")
def list_kpis(settings: SettingsDep) -> list[Kpi]:
    with session(settings) as db:
        seed_kpis(db)
        return read_kpis(db)


@router.put(
    "/{metric}",
    response_model=Kpi,
    summary="Create or replace a KPI",
    dependencies=[Depends(require("admin"))],
    responses=problems(400),
)
def put_kpi(metric: MetricPath, body: KpiIn, settings: SettingsDep) -> Kpi:
    kpi = Kpi(metric=known_metric(metric), **body.model_dump())
    with session(settings) as db:
        seed_kpis(db)  # before the first edit, or the seed would land on top of it later
        save_kpi(db, kpi)
    return kpi


@router.delete(
    "/{metric}",
    status_code=204,
    summary="Delete a KPI and its targets",
    dependencies=[Depends(require("admin"))],
    responses=problems(404),
)
def remove_kpi(metric: MetricPath, settings: SettingsDep) -> Response:
    with session(settings) as db:
        seed_kpis(db)
        if not delete_kpi(db, metric):
            raise HTTPException(status_code=404, detail=f"no KPI for metric {metric!r}")
    return Response(status_code=204)
