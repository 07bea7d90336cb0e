"""One report definition, one answer on both engines: the compiled SQL of every default
report (over the whole range) and of every grain and filter shape, run on the platform
built on DuckDB and on PostgreSQL (`twin_platforms`), gives the same rows."""

import math
from datetime import date

import pytest
import yaml

from ringside.core.warehouse import open_reader
from ringside.reports.dashboards import DEFAULTS_FILE
from ringside.reports.definition import ReportQuery
from ringside.reports.results import ReportResult, run_report
from ringside.reports.sources import mart_sources
from tests.platforms import BuiltPlatform

WHOLE = {"type": "absolute", "start": "2020-01-01", "end": "2030-12-31"}
SHAPES = [
    {"metrics": ["dau", "stickiness"], "dimensions": ["device_type"], "grain": "week"},
    {"metrics": ["subscriber_churn_rate", "arpu_usd"], "grain": "month"},
    {
        "metrics": ["dau"],
        "filters": [{"dimension": "device_type", "operator": "equals", "values": ["mobile"]}],
    },
    *(
        {
            "metrics": [f"{name}.{m}" for m in source.measures],
            "dimensions": list(source.dimensions)[:1],
            "grain": grain,
        }
        for name, source in mart_sources().items()
        for grain in ("day", "month", "total")
    ),
    {
        "metrics": ["content.views"],
        "dimensions": ["title"],
        "grain": "total",
        "filters": [{"dimension": "content_type", "operator": "not_in", "values": ["article"]}],
    },
]
DEFAULTS = [
    {k: v for k, v in report.items() if k not in ("name", "description", "type", "chart_type")}
    for report in yaml.safe_load(DEFAULTS_FILE.read_text())["reports"]
]


def run_on(platform: BuiltPlatform, query: ReportQuery) -> ReportResult:
    with open_reader(platform.settings) as reader:
        return run_report(reader, query, None, today=date(2026, 12, 1))


def same(left: object, right: object) -> bool:
    if isinstance(left, float) or isinstance(right, float):
        return left is not None and right is not None and math.isclose(left, right, rel_tol=1e-9)
    return left == right


@pytest.mark.parametrize("shape", [*SHAPES, *DEFAULTS])
def test_duckdb_and_postgres_give_the_same_rows(
    twin_platforms: tuple[BuiltPlatform, BuiltPlatform], shape: dict[str, object]
):
    on_duckdb, on_postgres = twin_platforms
    query = ReportQuery.model_validate({**shape, "date_range": WHOLE})
    duck, pg = run_on(on_duckdb, query), run_on(on_postgres, query)
    assert duck.columns == pg.columns
    assert duck.row_count == pg.row_count > 0
    for left, right in zip(duck.rows, pg.rows, strict=True):
        assert left.keys() == right.keys()
        assert all(same(left[k], right[k]) for k in left), (left, right)


def test_relative_ranges_resolve_alike(twin_platforms: tuple[BuiltPlatform, BuiltPlatform]):
    """The anchor (the last day with data) is read from each engine."""
    on_duckdb, on_postgres = twin_platforms
    query = ReportQuery.model_validate(
        {"metrics": ["content.views"], "date_range": {"type": "relative", "preset": "last_7_days"}}
    )
    duck, pg = run_on(on_duckdb, query), run_on(on_postgres, query)
    assert (duck.start, duck.end) == (pg.start, pg.end)
    assert [r["views"] for r in duck.rows] == [r["views"] for r in pg.rows]
    assert len(duck.rows) == 7
