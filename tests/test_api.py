"""API behaviour that needs no data: errors name the problem, and input out of any
sensible range is refused as a 422 in FastAPI's validation-error shape, never a 500."""

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.main import create_app
from ringside.core.settings import Settings
from tests.api_client import api_client

ROUTES = ["/api/analytics/overview/", "/api/analytics/users/", "/api/analytics/content/"]


@pytest.mark.parametrize("route", ROUTES)
def test_before_any_build_the_analytics_answer_503(settings: Settings, route: str):
    response = api_client().get(route, params={"start": "2026-08-01", "end": "2026-08-02"})
    assert response.status_code == 503
    assert "ringside build" in response.json()["detail"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_reversed_range_is_rejected(settings: Settings, route: str):
    response = api_client().get(route, params={"start": "2026-08-02", "end": "2026-08-01"})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "end"] and error["msg"] == "end must not be before start"


def loc_of_refusal(response: Response) -> list[str | int]:
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    return error["loc"]


@pytest.mark.parametrize(
    ("method", "path", "loc"),
    [
        ("get", f"/api/analytics/alerts/rules/{2**63}", ["path", "rule_id"]),
        ("delete", f"/api/analytics/keys/{2**63}", ["path", "key_id"]),
        ("get", f"/api/analytics/reports/{2**63}", ["path", "report_id"]),
        ("get", f"/api/analytics/dashboards/{2**63}", ["path", "dashboard_id"]),
        ("get", f"/api/analytics/alerts/history?rule={2**63}", ["query", "rule"]),
        ("get", f"/api/analytics/export/?report={2**63}", ["query", "report"]),
        (
            "get",
            "/api/analytics/alerts/history?since=0001-01-01T00:00:00%2B01:00",
            ["query", "since"],
        ),
        ("get", "/api/analytics/real-time/?at=0001-01-01T00:00:00%2B01:00", ["query", "at"]),
    ],
)
def test_ids_and_instants_out_of_range_are_refused(
    settings: Settings, method: str, path: str, loc: list[str]
):
    assert loc_of_refusal(api_client(role="admin").request(method, path)) == loc


@pytest.mark.parametrize("route", [*ROUTES, "/api/analytics/business/"])
def test_a_day_past_year_2999_is_refused(settings: Settings, route: str):
    response = api_client().get(route, params={"start": "2026-08-01", "end": "9999-12-31"})
    assert loc_of_refusal(response) == ["query", "end"]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"window_value": 2**40, "window_unit": "week"}, ["query", "window_value"]),
        ({"window_value": 400, "window_unit": "day"}, ["query", "window_value"]),
        ({"step": ["A", '{"event": "B", "properties": {"*": 1}}']}, ["query", "step", 1]),
        ({"step": ["A"]}, ["query", "step"]),
        ({"exclude": ['{"event": "C", "from_step": 2}']}, ["query", "exclude"]),
        ({"step": "not json {", "name": "x"}, ["query", "name"]),
    ],
)
def test_a_funnel_beyond_the_engines_is_refused(
    settings: Settings, params: dict[str, object], loc: list[str]
):
    base = {"start": "2026-08-01", "end": "2026-08-02", "step": ["A", "B"]}
    response = api_client().get("/api/analytics/funnels/", params={**base, **params})
    assert loc_of_refusal(response) == loc


def test_an_alert_rule_without_its_params_is_refused(settings: Settings):
    rule = {"name": "low dau", "kind": "threshold", "subject": "dau"}
    response = api_client(role="admin").post("/api/analytics/alerts/rules", json=rule)
    assert loc_of_refusal(response) == ["body", "params"]
    assert "params.operator" in response.json()["detail"][0]["msg"]


def test_health(settings: Settings):
    body = TestClient(create_app()).get("/health").json()
    # Nothing built yet is not a failure: no build failed and no served data is stale.
    assert (body["status"], body["degraded"]) == ("ok", [])
    assert body["warehouse_published_at"] is None and body["last_build"] is None
    assert body["landing_writable"] is True
