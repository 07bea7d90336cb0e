"""API behaviour that needs no data: errors name the problem."""

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from ringside.settings import Settings
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
    assert response.json()["detail"] == "end must not be before start"


def test_health(settings: Settings):
    body = TestClient(create_app()).get("/health").json()
    assert body == {"status": "ok", "warehouse_published_at": None}
