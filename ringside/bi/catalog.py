"""The business metric catalog: `vars.business_metrics` of dbt_project.yml, the one
place each metric is defined (the dbt models build from it; the API, KPIs, alerts and
reports read it here)."""

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field

from ringside.core.layout import DBT_PROJECT_DIR

Category = Literal["audience", "engagement", "content", "revenue", "acquisition"]
Unit = Literal["count", "usd", "ratio", "seconds"]
Direction = Literal["up", "down"]
Grain = Literal["day", "week", "month"]


class MetricPart(BaseModel):
    column: str = Field(description="Column of int_business_inputs_daily.")
    rollup: Literal["sum", "mean", "first", "last"] = Field(
        description="How the days of a week or month combine."
    )


class CatalogEntry(BaseModel):
    name: str
    label: str
    description: str
    category: Category
    unit: Unit
    format: str = Field(description="Display hint (spreadsheet number format).")
    direction: Direction = Field(description="Which way is good.")
    numerator: MetricPart
    denominator: MetricPart | None = None
    dimensions: list[str] = Field(default_factory=list, description="Slices beside 'all'.")


@cache
def metric_catalog(
    project_file: Path = DBT_PROJECT_DIR / "dbt_project.yml",
) -> dict[str, CatalogEntry]:
    """The catalog by metric name, validated."""
    config = yaml.safe_load(project_file.read_text())
    entries = [CatalogEntry.model_validate(raw) for raw in config["vars"]["business_metrics"]]
    return {entry.name: entry for entry in entries}
