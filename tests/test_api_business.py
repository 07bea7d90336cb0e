"""GET /api/analytics/business/ and /catalog over the hand-built warehouse of
tests/test_business_metrics.py (its docstring derives every figure used here)."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ringside.bi.kpis import load_kpi_config
from ringside.core.settings import Settings
from tests.api_client import api_client
from tests.platforms import platform_environment

URL = "/api/analytics/business/"


@pytest.fixture(scope="module")
def client(business_warehouse: Settings) -> Iterator[TestClient]:
    with platform_environment(business_warehouse):
        yield api_client()


def rows(client: TestClient, **params: object) -> list[dict[str, object]]:
    response = client.get(URL, params=params)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_catalog_lists_every_metric_once(client: TestClient):
    response = client.get(URL + "catalog")
    assert response.status_code == 200
    catalog = {entry["name"]: entry for entry in response.json()}
    assert len(catalog) == len(response.json()) == 17
    mrr = catalog["mrr_usd"]
    assert (mrr["label"], mrr["unit"], mrr["direction"]) == (
        "Monthly recurring revenue",
        "usd",
        "up",
    )
    assert mrr["format"] and mrr["numerator"] == {"column": "mrr_usd", "rollup": "last"}
    assert catalog["subscriber_churn_rate"]["direction"] == "down"
    assert catalog["dau"]["dimensions"] == ["device_type"]


def test_metric_and_date_filters(client: TestClient):
    found = rows(client, metric=["mrr_usd", "new_signups"], start="2026-01-31", end="2026-02-01")
    values = {(row["metric"], row["period_start"]): row["value"] for row in found}
    assert values == {
        ("mrr_usd", "2026-01-31"): 30,
        ("mrr_usd", "2026-02-01"): 30,
        ("new_signups", "2026-01-31"): 1,
        ("new_signups", "2026-02-01"): 0,
    }
    first = found[0]
    assert first["grain"] == "day" and first["dimension"] == "all"
    assert first["format"] == "$#,##0.00" and first["label"] == "Monthly recurring revenue"
    # Jan 31's MRR against Jan 30's 20.
    assert first["previous_period_value"] == 20
    assert first["growth_vs_previous_period"] == pytest.approx(0.5)


def test_category_grain_dimension_and_kpi_filters(client: TestClient):
    catalog = client.get(URL + "catalog").json()
    revenue_metrics = {entry["name"] for entry in catalog if entry["category"] == "revenue"}
    monthly = rows(client, category="revenue", grain="month")
    assert {row["metric"] for row in monthly} == revenue_metrics
    by_key = {(row["metric"], row["period_start"]): row for row in monthly}
    assert by_key[("total_revenue_usd", "2026-01-01")]["value"] == pytest.approx(420)
    assert by_key[("total_revenue_usd", "2026-02-01")]["value"] == pytest.approx(43.2)
    assert not by_key[("mrr_usd", "2026-01-01")]["is_complete"]

    devices = rows(client, dimension="device_type", metric="dau", end="2026-01-30")
    assert {row["dimension_value"]: row["value"] for row in devices} == {
        "desktop": 2,
        "mobile": 1,
    }

    kpis = rows(client, kpi_only=True, start="2026-02-02", end="2026-02-02")
    assert {row["metric"] for row in kpis} == {kpi.metric for kpi in load_kpi_config()}
    assert all(row["is_kpi"] and row["target"] is not None for row in kpis)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"metric": "revenue"}, "metric"),
        ({"grain": "year"}, "grain"),
        ({"category": "finance"}, "category"),
        ({"dimension": "country"}, "dimension"),
        ({"start": "2026-02-02", "end": "2026-01-30"}, "end"),
        ({"start": "yesterday"}, "start"),
    ],
)
def test_invalid_queries_name_the_field(client: TestClient, params: dict[str, str], field: str):
    response = client.get(URL, params=params)
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", field]]


def test_unknown_metric_lists_the_known_ones(client: TestClient):
    response = client.get(URL, params={"metric": ["mrr_usd", "revenue"]})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert (
        "'revenue'" in error["msg"] and "mrr_usd" in error["msg"] and "search_ctr" in error["msg"]
    )
