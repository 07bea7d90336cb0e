"""Dashboards: widgets bound to a business metric or a saved report on a 12-column grid,
with a refresh interval and the roles allowed to open them. A new installation gets the
reports and four dashboards of `defaults.yml` (once: deleting them is final)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringside.access.keys import Principal
from ringside.access.roles import Role, allows
from ringside.appdb.kpis import Seed
from ringside.appdb.reports import Dashboard, Report
from ringside.bi.catalog import Grain, metric_catalog
from ringside.reports.definition import ChartType, ReportSpec
from ringside.reports.library import create_report

DEFAULTS_FILE = Path(__file__).with_name("defaults.yml")
SYSTEM_OWNER = "ringside"
GRID_COLUMNS = 12
DashboardType = Literal["overview", "content", "user", "business"]


class Position(BaseModel):
    x: int = Field(ge=0, lt=GRID_COLUMNS)
    y: int = Field(ge=0)
    w: int = Field(ge=1, le=GRID_COLUMNS)
    h: int = Field(ge=1)

    @model_validator(mode="after")
    def _inside_grid(self) -> Position:
        if self.x + self.w > GRID_COLUMNS:
            raise ValueError(f"x + w must not exceed the {GRID_COLUMNS} grid columns")
        return self


class Widget(BaseModel):
    """One tile: a business metric (as a KPI or a trend at `grain`) or a saved report."""

    title: str = Field(min_length=1, max_length=200)
    visualization: Literal["kpi"] | ChartType
    metric: str | None = None
    grain: Grain = "day"
    report_id: int | None = None
    position: Position

    @model_validator(mode="after")
    def _one_binding(self) -> Widget:
        if (self.metric is None) == (self.report_id is None):
            raise ValueError("a widget shows exactly one of `metric` or `report_id`")
        if self.metric is not None and self.metric not in metric_catalog():
            raise ValueError(f"unknown metric {self.metric!r}")
        return self


class DashboardOut(BaseModel):
    id: int
    name: str
    type: DashboardType
    description: str
    owner: str
    widgets: list[Widget]
    layout: dict[str, Any]
    refresh_interval_seconds: int
    is_default: bool
    allowed_roles: list[Role]
    created_at: datetime
    updated_at: datetime


def may_open(principal: Principal, dashboard: Dashboard) -> bool:
    """Admins open every dashboard; others those whose `allowed_roles` name their role."""
    return allows(principal.role, "admin") or principal.role in dashboard.allowed_roles


def dashboard_out(dashboard: Dashboard) -> DashboardOut:
    return DashboardOut.model_validate(dashboard, from_attributes=True)


def seed_defaults(db: Session, path: Path = DEFAULTS_FILE) -> bool:
    """Create the default reports and dashboards once per application database."""
    if db.get(Seed, "dashboards") is not None:
        return False
    defaults = yaml.safe_load(path.read_text())
    report_ids: dict[str, int] = {}
    for raw in defaults["reports"]:
        spec = ReportSpec.model_validate({"visibility": "public", **raw})
        existing = db.scalar(select(Report).where(Report.name == spec.name))
        report = existing or create_report(db, SYSTEM_OWNER, spec)
        report_ids[spec.name] = report.id
    for raw in defaults["dashboards"]:
        widgets = [
            Widget.model_validate(
                {**widget, "report_id": report_ids[widget.pop("report")]}
                if "report" in widget
                else widget
            ).model_dump(mode="json")
            for widget in raw.pop("widgets")
        ]
        db.add(
            Dashboard(
                **raw,
                widgets=widgets,
                owner=SYSTEM_OWNER,
                layout={"columns": GRID_COLUMNS},
                is_default=True,
            )
        )
    db.add(Seed(name="dashboards"))
    db.flush()
    return True
