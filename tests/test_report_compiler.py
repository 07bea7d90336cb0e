"""The report compiler over the hand-built warehouse of tests/test_business_metrics.py
(its docstring derives the figures): every catalog metric by every allowed dimension and
grain, and every mart measure by every declared dimension and grain, against
independently computed answers (the mart rows read as they are, and pandas group-bys
over the marts); hostile definitions refused with the field named."""

from collections.abc import Iterator
from datetime import date

import pandas as pd
import pytest

from ringside.bi.catalog import metric_catalog
from ringside.core.readers import DuckDBReader
from ringside.core.settings import Settings
from ringside.core.warehouse import read_frame, read_serving, serve
from ringside.reports.compiler import compile_report
from ringside.reports.definition import AbsoluteRange, Filter, ReportQuery
from ringside.reports.results import run_report
from ringside.reports.sources import ReportError, mart_sources
from tests.platforms import platform_environment
from tests.test_business_metrics import FIRST_DAY, LAST_DAY

EVERYTHING = AbsoluteRange(start=date(2025, 1, 1), end=date(2027, 12, 31))


@pytest.fixture(scope="module")
def warehouse(business_warehouse: Settings) -> Iterator[Settings]:
    with platform_environment(business_warehouse) as settings:
        yield settings


@pytest.fixture(scope="module")
def reader(warehouse: Settings) -> Iterator[DuckDBReader]:
    with read_serving(warehouse.layout) as con:
        yield DuckDBReader(con)


def run(reader: DuckDBReader, **query: object) -> list[dict[str, object]]:
    result = run_report(reader, ReportQuery.model_validate(query), None, today=LAST_DAY)
    return result.rows


def test_dau_by_device_matches_the_hand_derived_table(reader: DuckDBReader):
    """DAU desktop 2, 2, 1, 1 and mobile 1, 1, 1, 1 over Jan 30 .. Feb 2 (docstring)."""
    rows = run(
        reader,
        metrics=["dau"],
        dimensions=["device_type"],
        date_range={"type": "absolute", "start": FIRST_DAY, "end": LAST_DAY},
    )
    got = {(str(r["period"]), r["device_type"]): r["dau"] for r in rows}
    days = ["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"]
    assert got == {
        **{(d, "desktop"): v for d, v in zip(days, [2, 2, 1, 1], strict=True)},
        **{(d, "mobile"): 1 for d in days},
    }


def test_relative_ranges_anchor_on_the_last_day_of_data(reader: DuckDBReader):
    """last_7_days ends on Feb 2, the last day built, whatever today is; `yesterday`
    is Feb 1 (DAU 2 and MRR 30 there, per the docstring)."""
    rows = run(
        reader, metrics=["dau", "mrr_usd"], date_range={"type": "relative", "preset": "yesterday"}
    )
    assert [(str(r["period"]), r["dau"], r["mrr_usd"]) for r in rows] == [("2026-02-01", 2, 30)]


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_every_business_metric_by_every_dimension_equals_the_mart(
    warehouse: Settings, reader: DuckDBReader, grain: str
):
    mart = read_frame(
        warehouse,
        "select metric, period_start, dimension, dimension_value, value "
        f"from mart_business_metrics_daily where grain = '{grain}'",
    )
    mart["period_start"] = pd.to_datetime(mart["period_start"]).dt.date
    checked = 0
    for name, entry in metric_catalog().items():
        for dimension in [None, *entry.dimensions]:
            rows = run(
                reader,
                metrics=[name],
                dimensions=[dimension] if dimension else [],
                grain=grain,
                date_range=EVERYTHING,
            )
            got = {(r["period"], r.get(dimension, "all")): r[name] for r in rows}
            expected_rows = mart[
                (mart["metric"] == name) & (mart["dimension"] == (dimension or "all"))
            ]
            expected = {
                (row.period_start, row.dimension_value): None if pd.isna(row.value) else row.value
                for row in expected_rows.itertuples()
            }
            assert expected, (name, dimension, grain)
            assert got.keys() == expected.keys(), (name, dimension, grain)
            for key, value in expected.items():
                assert got[key] == pytest.approx(value, nan_ok=True), (name, dimension, key)
            checked += 1
    assert checked == sum(1 + len(e.dimensions) for e in metric_catalog().values())


def _bucket(days: pd.Series, grain: str) -> pd.Series:
    days = pd.to_datetime(days)
    if grain == "week":
        return (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.date
    if grain == "month":
        return days.dt.to_period("M").dt.start_time.dt.date
    return days.dt.date


@pytest.mark.parametrize("grain", ["day", "week", "month", "total"])
def test_every_mart_measure_by_every_dimension_equals_a_pandas_group_by(
    warehouse: Settings, reader: DuckDBReader, grain: str
):
    for source_name, source in mart_sources().items():
        frame = read_frame(warehouse, f"select * from {source.model}")
        assert not frame.empty, source.model
        if grain != "total":
            frame["period"] = _bucket(frame[source.date_column], grain)
        for dimension in [None, *source.dimensions]:
            keys = [k for k in ("period" if grain != "total" else None, dimension) if k]
            metrics = [f"{source_name}.{m}" for m in source.measures]
            rows = run(
                reader,
                metrics=metrics,
                dimensions=[dimension] if dimension else [],
                grain=grain,
                date_range=EVERYTHING,
            )
            grouped = frame.groupby(keys, dropna=False) if keys else None
            for measure_name, measure in source.measures.items():
                if measure.aggregation == "sum":
                    parts = [measure.column]
                else:
                    parts = [measure.numerator, measure.denominator]
                sums = (
                    grouped[parts].sum() if grouped is not None else frame[parts].sum().to_frame().T
                )
                if measure.aggregation == "sum":
                    expected = sums[measure.column]
                else:
                    denominator = sums[measure.denominator].where(sums[measure.denominator] != 0)
                    expected = sums[measure.numerator] / denominator
                expected_map = {
                    tuple(None if pd.isna(p) else p for p in (k if isinstance(k, tuple) else (k,)))
                    if keys
                    else (): v
                    for k, v in expected.items()
                }
                got = {tuple(r[k] for k in keys): r[measure_name] for r in rows}
                assert got.keys() == expected_map.keys(), (source_name, measure_name, dimension)
                for key, value in expected_map.items():
                    if pd.isna(value):
                        assert got[key] is None, (source_name, measure_name, key)
                    else:
                        assert got[key] == pytest.approx(float(value)), (
                            source_name,
                            measure_name,
                            dimension,
                            key,
                        )


def test_filters_sort_and_limit(reader: DuckDBReader):
    """Searches of Feb 1: "jones" and "pereira" once each (docstring)."""
    rows = run(
        reader,
        metrics=["search.searches"],
        dimensions=["query"],
        grain="total",
        date_range=EVERYTHING,
        sort=[{"field": "query", "direction": "desc"}],
    )
    assert [(r["query"], r["searches"]) for r in rows] == [("pereira", 1), ("jones", 1)]
    assert run(
        reader,
        metrics=["search.searches"],
        dimensions=["query"],
        grain="total",
        date_range=EVERYTHING,
        filters=[{"dimension": "query", "operator": "contains", "values": ["ONE"]}],
    ) == [{"query": "jones", "searches": 1}]
    limited = run(
        reader,
        metrics=["search.searches"],
        dimensions=["query"],
        grain="total",
        date_range=EVERYTHING,
        sort=[{"field": "query", "direction": "asc"}],
        limit=1,
    )
    assert limited == [{"query": "jones", "searches": 1}]
    excluded = run(
        reader,
        metrics=["search.searches"],
        dimensions=["query"],
        grain="total",
        date_range=EVERYTHING,
        filters=[{"dimension": "query", "operator": "not_in", "values": ["jones"]}],
    )
    assert excluded == [{"query": "pereira", "searches": 1}]


def test_a_business_filter_selects_one_slice(reader: DuckDBReader):
    rows = run(
        reader,
        metrics=["dau"],
        filters=[{"dimension": "device_type", "operator": "equals", "values": ["mobile"]}],
        date_range={"type": "absolute", "start": FIRST_DAY, "end": LAST_DAY},
    )
    assert [r["dau"] for r in rows] == [1, 1, 1, 1]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"metrics": ["dau'; drop table mart_business_metrics_daily; --"]}, "metrics.0"),
        ({"metrics": ["content.views", "dau"]}, "metrics.1"),
        ({"metrics": ["dau"], "dimensions": ["device_type; select 1"]}, "dimensions.0"),
        ({"metrics": ["new_signups"], "dimensions": ["device_type"]}, "dimensions.0"),
        ({"metrics": ["dau"], "grain": "total"}, "grain"),
        ({"metrics": ["dau"], "sort": [{"field": "dau desc; --"}]}, "sort.0.field"),
        (
            {
                "metrics": ["content.views"],
                "filters": [{"dimension": "1=1) or (1", "values": ["x"]}],
            },
            "filters.0.dimension",
        ),
        (
            {
                "metrics": ["dau"],
                "filters": [{"dimension": "device_type", "operator": "in", "values": ["a", "b"]}],
            },
            "filters.0",
        ),
        ({"metrics": ["dau", "dau"]}, "metrics.1"),
    ],
)
def test_the_compiler_names_the_refused_field(query: dict[str, object], field: str):
    with pytest.raises(ReportError) as refused:
        compile_report(ReportQuery.model_validate(query), None, LAST_DAY)
    assert refused.value.field == field


def test_hostile_values_are_bound_never_spliced(reader: DuckDBReader):
    """A quote-laden filter value matches nothing (it is compared as a value), and the
    SQL text never contains it."""
    hostile = "x' or '1'='1"
    query = ReportQuery(
        metrics=["search.searches"],
        dimensions=["query"],
        grain="total",
        date_range=EVERYTHING,
        filters=[Filter(dimension="query", values=[hostile])],
    )
    compiled = compile_report(query, None, LAST_DAY)
    assert hostile not in compiled.sql and hostile in compiled.params.values()
    assert run_report(reader, query, None, today=LAST_DAY).rows == []


def test_results_are_cached_per_data_version(warehouse: Settings):
    """The same definition twice on one build: the second is cached; after a new build
    (a new data version) it is computed again."""
    from ringside.core.warehouse import data_version

    query = ReportQuery(metrics=["dau"], date_range=EVERYTHING)
    version = data_version(warehouse)
    assert version is not None
    with read_serving(warehouse.layout) as con:
        first = run_report(DuckDBReader(con), query, version)
        again = run_report(DuckDBReader(con), query, version)
    assert (first.cached, again.cached) == (False, True)
    assert again.rows == first.rows
    # What every successful build ends with (here the same database published again).
    serve(warehouse, warehouse.layout.served_generation())
    assert data_version(warehouse) != version
    with read_serving(warehouse.layout) as con:
        rebuilt = run_report(DuckDBReader(con), query, data_version(warehouse))
    assert rebuilt.cached is False and rebuilt.rows == first.rows
