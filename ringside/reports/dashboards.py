"""Dashboards: widgets bound to a business metric, a saved report or a panel (real-time
activity, a saved funnel, the retention matrix, top content) on a 12-column grid, with a
refresh interval and the roles allowed to open them. A new installation gets the reports
and four dashboards of `defaults.yml` (once: deleting them is final)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringside.access.keys import Principal
from ringside.access.roles import Role, allows
from ringside.bi.catalog import Grain, metric_catalog
from ringside.core.appdb.kpis import Seed
from ringside.core.appdb.reports import Dashboard, Report
from ringside.core.timestamps import UtcDateTime
from ringside.insights.definitions import saved_funnels
from ringside.reports.definition import ChartType, ReportSpec
from ringside.reports.library import can_read, create_report, owner_name

DEFAULTS_FILE = Path(__file__).with_name("defaults.yml")
GRID_COLUMNS = 12
DashboardType = Literal["overview", "content", "user", "business"]
Panel = Literal["realtime", "funnel", "retention", "content"]
# The one visualization each panel has (the web app draws them).
PANEL_VISUALIZATION = {
    "realtime": "realtime",
    "funnel": "funnel",
    "retention": "heatmap",
    "content": "table",
}
METRIC_VISUALIZATIONS = ("kpi", "line", "bar", "area")
OptionValue = str | int | float | bool


class ContentSort(StrEnum):
    """The sorts of /api/analytics/content/, which the content panel calls with its
    `options.sort` (kept here so a widget is checked against the same list)."""

    views = "views"
    daily_unique_views = "daily_unique_views"
    avg_engaged_seconds = "avg_engaged_seconds"
    shares = "shares"
    likes = "likes"
    comments = "comments"
    video_completion_rate = "video_completion_rate"
    max_trending_score = "max_trending_score"
    quality_score = "quality_score"


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
    """One tile: a business metric (a KPI, or a trend at `grain`), a saved report, or a
    panel. `options` tune panels and trends: `funnel` (a saved funnel's name), `sort` and
    `limit` (content), `period` and `periods` (retention), `forecast_series` and
    `anomaly_series` (the ML series a trend overlays)."""

    title: str = Field(min_length=1, max_length=200)
    visualization: Literal["kpi", "funnel", "heatmap", "realtime"] | ChartType
    metric: str | None = None
    grain: Grain = "day"
    report_id: int | None = None
    panel: Panel | None = None
    options: dict[str, OptionValue] = Field(default_factory=dict)
    position: Position

    @model_validator(mode="after")
    def _one_binding(self) -> Widget:
        bound = [
            name for name in ("metric", "report_id", "panel") if getattr(self, name) is not None
        ]
        if len(bound) != 1:
            raise ValueError("a widget shows exactly one of `metric`, `report_id` or `panel`")
        if self.metric is not None:
            if self.metric not in metric_catalog():
                raise ValueError(f"unknown metric {self.metric!r}")
            if self.visualization not in METRIC_VISUALIZATIONS:
                raise ValueError(f"a metric is shown as one of {', '.join(METRIC_VISUALIZATIONS)}")
        if self.report_id is not None and self.visualization not in get_args(ChartType):
            raise ValueError(f"a report is shown as one of {', '.join(get_args(ChartType))}")
        if self.panel is not None:
            self._check_panel(self.panel)
        return self

    def _check_panel(self, panel: str) -> None:
        wanted = PANEL_VISUALIZATION[panel]
        if self.visualization != wanted:
            raise ValueError(f"the {panel} panel is shown as {wanted!r}")
        if panel == "funnel":
            funnels = saved_funnels()
            if self.options.get("funnel") not in funnels:
                raise ValueError(f"options.funnel must name a saved funnel: {', '.join(funnels)}")
        sort = self.options.get("sort", ContentSort.views)
        if panel == "content" and sort not in set(ContentSort):
            raise ValueError(f"options.sort must be one of {', '.join(ContentSort)}")


class DashboardOut(BaseModel):
    id: int
    name: str
    type: DashboardType
    description: str
    owner_id: int | None = Field(description="The owning principal; null: a default dashboard.")
    owner: str = Field(description="The owner's display name.")
    widgets: list[Widget]
    layout: dict[str, Any]
    refresh_interval_seconds: int
    is_default: bool
    allowed_roles: list[Role]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class DashboardIn(BaseModel):
    """A new dashboard (the owner is the calling key's principal)."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    type: DashboardType = "overview"
    widgets: list[Widget] = Field(default_factory=list, max_length=50)
    refresh_interval_seconds: int = Field(default=300, ge=30, le=86_400)
    allowed_roles: list[Role] = Field(
        default_factory=lambda: ["viewer", "analyst", "admin"], min_length=1
    )


class DashboardPatch(BaseModel):
    """The fields to change; the widget list is replaced as a whole."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    type: DashboardType | None = None
    widgets: list[Widget] | None = Field(default=None, max_length=50)
    refresh_interval_seconds: int | None = Field(default=None, ge=30, le=86_400)
    allowed_roles: list[Role] | None = Field(default=None, min_length=1)


class DashboardError(ValueError):
    """A dashboard the caller may not save as given: `field` is its path in the body."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def may_edit(principal: Principal, dashboard: Dashboard) -> bool:
    """Admins change any dashboard, the defaults included; analysts their own."""
    if allows(principal.role, "admin"):
        return True
    return (
        allows(principal.role, "analyst")
        and not dashboard.is_default
        and dashboard.owner_id == principal.principal_id
    )


def _checked_widgets(db: Session, principal: Principal, widgets: list[Widget]) -> list[dict]:
    """The widgets as stored, once every report they show is one the caller may read
    (a dashboard must not expose a private report to whoever opens it)."""
    for index, widget in enumerate(widgets):
        if widget.report_id is None:
            continue
        report = db.get(Report, widget.report_id)
        if report is None or not can_read(principal, report):
            raise DashboardError(f"widgets.{index}.report_id", f"no report {widget.report_id}")
    return [widget.model_dump(mode="json") for widget in widgets]


def _unique_name(db: Session, name: str, dashboard_id: int | None = None) -> None:
    clash = db.scalar(select(Dashboard).where(Dashboard.name == name))
    if clash is not None and clash.id != dashboard_id:
        raise DashboardError("name", f"a dashboard named {name!r} exists")


def create_dashboard(db: Session, principal: Principal, new: DashboardIn) -> Dashboard:
    _unique_name(db, new.name)
    dashboard = Dashboard(
        **new.model_dump(exclude={"widgets"}),
        widgets=_checked_widgets(db, principal, new.widgets),
        owner_id=principal.principal_id,
        layout={"columns": GRID_COLUMNS},
        is_default=False,
    )
    db.add(dashboard)
    db.flush()
    return dashboard


def update_dashboard(
    db: Session, principal: Principal, dashboard: Dashboard, patch: DashboardPatch
) -> Dashboard:
    changes = patch.model_dump(exclude_unset=True, exclude={"widgets"})
    if patch.name is not None:
        _unique_name(db, patch.name, dashboard.id)
    if patch.widgets is not None:
        changes["widgets"] = _checked_widgets(db, principal, patch.widgets)
    for name, value in changes.items():
        if value is not None:
            setattr(dashboard, name, value)
    db.flush()
    return dashboard


def may_open(principal: Principal, dashboard: Dashboard) -> bool:
    """Admins open every dashboard; others those whose `allowed_roles` name their role or
    one below it (the role order, as for shared reports)."""
    return allows(principal.role, "admin") or any(
        allows(principal.role, role) for role in dashboard.allowed_roles
    )


def dashboard_out(db: Session, dashboard: Dashboard) -> DashboardOut:
    return DashboardOut.model_validate(
        {
            **{
                column: getattr(dashboard, column)
                for column in DashboardOut.model_fields
                if column != "owner"
            },
            "owner": owner_name(db, dashboard.owner_id),
        }
    )


def seed_defaults(db: Session, path: Path = DEFAULTS_FILE) -> bool:
    """Create the default reports and dashboards once per application database."""
    if db.get(Seed, "dashboards") is not None:
        return False
    defaults = yaml.safe_load(path.read_text())
    report_ids: dict[str, int] = {}
    for raw in defaults["reports"]:
        spec = ReportSpec.model_validate({"visibility": "public", **raw})
        existing = db.scalar(select(Report).where(Report.name == spec.name))
        report = existing or create_report(db, None, spec)
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
                owner_id=None,
                layout={"columns": GRID_COLUMNS},
                is_default=True,
            )
        )
    db.add(Seed(name="dashboards"))
    db.flush()
    return True
