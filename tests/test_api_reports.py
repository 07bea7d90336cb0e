"""/api/analytics/reports/ and /dashboards/ over the hand-built warehouse of
tests/test_business_metrics.py, with an application database of their own: who sees and
changes which report, validation naming the field, results equal to the business API,
and the default dashboards."""

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.main import create_app
from ringside.access.keys import create_key
from ringside.access.roles import Role
from ringside.core.appdb import session
from ringside.core.settings import Settings, get_settings
from tests.test_business_metrics import FIRST_DAY, LAST_DAY

URL = "/api/analytics/reports/"
SPAN = {"type": "absolute", "start": FIRST_DAY.isoformat(), "end": LAST_DAY.isoformat()}
Client = Callable[[str, Role], TestClient]


@pytest.fixture(scope="module")
def settings(business_warehouse: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The shared warehouse, with an app database only this module writes to."""
    app_db = tmp_path_factory.mktemp("reports-app") / "app.sqlite"
    return business_warehouse.model_copy(update={"app_db_url": SecretStr(f"sqlite:///{app_db}")})


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[Client]:
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings

    def as_key(name: str, role: Role) -> TestClient:
        with session(settings) as db:
            _, secret = create_key(db, role, name=name)
        return TestClient(app, headers={"Authorization": f"Bearer {secret}"})

    yield as_key


@pytest.fixture(scope="module")
def alice(client: Client) -> TestClient:
    return client("alice", "analyst")


@pytest.fixture(scope="module")
def bob(client: Client) -> TestClient:
    return client("bob", "analyst")


@pytest.fixture(scope="module")
def victor(client: Client) -> TestClient:
    return client("victor", "viewer")


@pytest.fixture(scope="module")
def admin(client: Client) -> TestClient:
    return client("root", "admin")


def create(as_: TestClient, **spec: object) -> dict[str, object]:
    body = {"name": "Weekly audience", "metrics": ["dau", "mrr_usd"], "date_range": SPAN, **spec}
    response = as_.post(URL, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def ids(as_: TestClient, **params: object) -> set[int]:
    response = as_.get(URL, params=params)
    assert response.status_code == 200, response.text
    return {report["id"] for report in response.json()}


def test_a_private_report_is_its_owners(
    alice: TestClient, bob: TestClient, victor: TestClient, admin: TestClient
):
    report = create(alice, name="Alice's private")
    assert (report["owner"], report["visibility"]) == ("alice", "private")
    url = f"{URL}{report['id']}"
    assert alice.get(url).status_code == 200
    assert admin.get(url).status_code == 200
    # Others cannot tell it exists.
    assert bob.get(url).status_code == 404
    assert victor.get(url).status_code == 404
    assert victor.post(url + "/run").status_code == 404
    assert report["id"] not in ids(bob) | ids(victor)
    assert report["id"] in ids(alice) & ids(admin)


def test_sharing_with_a_role_or_a_user(alice: TestClient, bob: TestClient, victor: TestClient):
    by_role = create(alice, name="For viewers", visibility="shared", shared_with_roles=["viewer"])
    by_user = create(alice, name="For bob", visibility="shared", shared_with_users=["bob"])
    public = create(alice, name="For everyone", visibility="public")
    assert {by_role["id"], public["id"]} <= ids(victor)
    assert by_user["id"] not in ids(victor)
    assert {by_user["id"], public["id"]} <= ids(bob)
    # Shared with viewers, so with every role above them too: bob is an analyst.
    assert by_role["id"] in ids(bob)


def test_only_the_owner_or_an_admin_changes_a_report(
    alice: TestClient, bob: TestClient, victor: TestClient, admin: TestClient
):
    report = create(alice, name="Shared and guarded", visibility="public")
    url = f"{URL}{report['id']}"
    assert bob.patch(url, json={"name": "bob was here"}).status_code == 403
    assert bob.delete(url).status_code == 403
    assert victor.patch(url, json={"name": "victor was here"}).status_code == 403
    changed = alice.patch(url, json={"description": "by alice", "grain": "week"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["description"], changed.json()["grain"]) == ("by alice", "week")
    assert changed.json()["metrics"] == ["dau", "mrr_usd"]  # untouched fields stay
    assert admin.patch(url, json={"name": "renamed by admin"}).json()["name"] == "renamed by admin"
    assert alice.delete(url).status_code == 204
    assert alice.get(url).status_code == 404


def test_a_patch_is_validated_whole(alice: TestClient):
    url = f"{URL}{create(alice, name='To break')['id']}"
    unknown_field = alice.patch(url, json={"colour": "red"})
    assert unknown_field.status_code == 422 and unknown_field.json()["detail"][0]["loc"] == [
        "body",
        "colour",
    ]
    bad_metric = alice.patch(url, json={"metrics": ["dau", "nope"]})
    assert bad_metric.status_code == 422
    assert bad_metric.json()["detail"][0]["loc"] == ["body", "metrics", 1]
    assert alice.get(url).json()["metrics"] == ["dau", "mrr_usd"]


@pytest.mark.parametrize(
    ("spec", "loc"),
    [
        ({"metrics": ["dau'; drop table reports; --"]}, ["body", "metrics", 0]),
        (
            {"metrics": ["subscriber_churn_rate"], "dimensions": ["device_type"]},
            ["body", "dimensions", 0],
        ),
        ({"metrics": ["content.views"], "dimensions": ["title; --"]}, ["body", "dimensions", 0]),
        ({"limit": 10**9}, ["body", "limit"]),
        ({"limit": 0}, ["body", "limit"]),
        ({"grain": "hour"}, ["body", "grain"]),
        ({"sort": [{"field": "1; select 1"}]}, ["body", "sort", 0, "field"]),
        ({"filters": [{"dimension": "device_type", "operator": "like", "values": ["%"]}]}, None),
        ({"schedule": {"frequency": "weekly", "timezone": "Mars/Olympus"}}, None),
        ({"recipients": {"email": ["not-an-address"]}}, None),
        ({"partner": "nobody"}, ["body", "partner"]),
    ],
)
def test_invalid_definitions_get_422_naming_the_field(
    alice: TestClient, spec: dict[str, object], loc: list[object] | None
):
    body = {"name": "Invalid", "metrics": ["dau"], **spec}
    response = alice.post(URL, json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    if loc is not None:
        assert detail[0]["loc"][: len(loc)] == loc


def test_unknown_metric_lists_the_allowed_ones(alice: TestClient):
    response = alice.post(URL, json={"name": "x", "metrics": ["daus"]})
    assert response.status_code == 422
    allowed = response.json()["detail"][0]["ctx"]["allowed"]
    assert "dau" in allowed and "content.views" in allowed


def test_run_gives_the_numbers_of_the_business_api(alice: TestClient):
    report = create(alice, name="Audience by week", metrics=["dau", "mau", "mrr_usd"], grain="week")
    result = alice.post(f"{URL}{report['id']}/run")
    assert result.status_code == 200, result.text
    body = result.json()
    assert [c["name"] for c in body["columns"]] == ["period", "dau", "mau", "mrr_usd"]
    business = alice.get(
        "/api/analytics/business/",
        params={
            "grain": "week",
            "metric": ["dau", "mau", "mrr_usd"],
            "start": "2026-01-26",  # the week holding FIRST_DAY, shown whole
            "end": LAST_DAY,
        },
    ).json()["rows"]
    expected: dict[str, dict[str, float]] = {}
    for row in business:
        expected.setdefault(row["period_start"], {})[row["metric"]] = row["value"]
    assert {
        r["period"]: {m: r[m] for m in ("dau", "mau", "mrr_usd")} for r in body["rows"]
    } == expected
    # Weeks of Jan 26 and Feb 2 (docstring): mean DAU (3 + 3 + 2) / 3 and 2; MRR at the end 30.
    assert [round(r["dau"], 4) for r in body["rows"]] == [round(8 / 3, 4), 2]
    assert [r["mrr_usd"] for r in body["rows"]] == [30, 30]
    again = alice.post(f"{URL}{report['id']}/run").json()
    assert again["cached"] is True and again["rows"] == body["rows"]


def test_preview_runs_an_unsaved_definition(alice: TestClient, victor: TestClient):
    query = {"metrics": ["dau"], "dimensions": ["device_type"], "date_range": SPAN}
    response = alice.post(URL + "preview", json=query)
    assert response.status_code == 200, response.text
    assert sum(r["dau"] for r in response.json()["rows"]) == 2 + 2 + 1 + 1 + 4
    assert victor.post(URL + "preview", json=query).status_code == 403


def test_duplicate_makes_a_private_unscheduled_copy(alice: TestClient, bob: TestClient):
    report = create(
        alice,
        name="Scheduled",
        visibility="public",
        schedule={"frequency": "daily", "time": "06:30", "timezone": "Europe/London"},
        recipients={"email": ["team@example.com"]},
    )
    copy = bob.post(f"{URL}{report['id']}/duplicate")
    assert copy.status_code == 201, copy.text
    body = copy.json()
    assert (body["owner"], body["visibility"], body["schedule"]) == ("bob", "private", None)
    assert body["recipients"]["email"] == [] and body["name"] == "Scheduled (copy)"
    assert body["metrics"] == report["metrics"]


def test_list_filters(alice: TestClient, bob: TestClient):
    chart = create(bob, name="Bob's chart", type="chart", chart_type="line", visibility="public")
    assert chart["id"] in ids(alice, owner="bob", type="chart", visibility="public")
    assert chart["id"] not in ids(alice, owner="alice")
    assert chart["id"] not in ids(alice, type="table")


def test_catalog_lists_every_source(victor: TestClient):
    response = victor.get(URL + "catalog")
    assert response.status_code == 200
    sources = {source["name"]: source for source in response.json()}
    assert set(sources) == {"business", "content", "traffic", "search"}
    assert "dau" in {m["name"] for m in sources["business"]["metrics"]}
    assert "total" not in sources["business"]["grains"]


def test_default_dashboards_honour_their_roles(
    victor: TestClient, alice: TestClient, admin: TestClient
):
    listed = {d["type"]: d for d in admin.get("/api/analytics/dashboards/").json()}
    assert set(listed) == {"overview", "content", "user", "business"}
    assert all(d["is_default"] for d in listed.values())
    assert {d["type"] for d in victor.get("/api/analytics/dashboards/").json()} == {
        "overview",
        "content",
    }
    assert len(alice.get("/api/analytics/dashboards/").json()) == 4
    business = listed["business"]["id"]
    assert victor.get(f"/api/analytics/dashboards/{business}").status_code == 403
    assert alice.get(f"/api/analytics/dashboards/{business}").status_code == 200
    assert victor.get("/api/analytics/dashboards/999999").status_code == 404
    # Every widget's report exists, is readable by whoever may open the dashboard, and runs.
    for dashboard in listed.values():
        for widget in dashboard["widgets"]:
            if widget["report_id"] is not None:
                run = alice.post(f"{URL}{widget['report_id']}/run")
                assert run.status_code == 200, (widget, run.text)


def test_a_dashboard_runs_a_report_over_its_own_range_and_filters(
    alice: TestClient, victor: TestClient
):
    report = create(alice, name="Daily DAU", metrics=["dau"], visibility="public")
    url = f"{URL}{report['id']}/run"
    two_days = {"type": "absolute", "start": "2026-01-30", "end": "2026-01-31"}
    by_device = {}
    for device in ("desktop", "mobile"):
        filters = [{"dimension": "device_type", "operator": "equals", "values": [device]}]
        response = victor.post(url, json={"date_range": two_days, "filters": filters})
        assert response.status_code == 200, response.text
        by_device[device] = [(r["period"], r["dau"]) for r in response.json()["rows"]]
    # The docstring's table: DAU on desktop 2 and 2, on mobile 1 and 1.
    assert by_device == {
        "desktop": [("2026-01-30", 2), ("2026-01-31", 2)],
        "mobile": [("2026-01-30", 1), ("2026-01-31", 1)],
    }
    # Without a body the saved definition runs as it is (its four days, all devices).
    assert [r["dau"] for r in victor.post(url).json()["rows"]] == [3, 3, 2, 2]
    refused = victor.post(url, json={"filters": [{"dimension": "title", "values": ["x"]}]})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "filters", 0, "dimension"]


def dashboard(as_: TestClient, **body: object) -> dict[str, object]:
    response = as_.post("/api/analytics/dashboards/", json={"name": "Fight week", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_an_analyst_builds_their_own_dashboard_and_only_they_change_it(
    alice: TestClient, bob: TestClient, victor: TestClient, admin: TestClient
):
    report = create(alice, name="Alice's DAU", metrics=["dau"])
    made = dashboard(
        alice,
        widgets=[
            {"title": "DAU", "metric": "dau", "visualization": "kpi",
             "position": {"x": 0, "y": 0, "w": 3, "h": 2}},
            {"title": "Mine", "report_id": report["id"], "visualization": "line",
             "position": {"x": 3, "y": 0, "w": 9, "h": 4}},
        ],
    )  # fmt: skip
    assert (made["owner"], made["is_default"], len(made["widgets"])) == ("alice", False, 2)
    assert made["allowed_roles"] == ["viewer", "analyst", "admin"]
    url = f"/api/analytics/dashboards/{made['id']}"
    assert made["id"] in {d["id"] for d in victor.get("/api/analytics/dashboards/").json()}
    assert bob.patch(url, json={"name": "Bob's now"}).status_code == 403
    changed = alice.patch(
        url, json={"widgets": made["widgets"][:1], "refresh_interval_seconds": 60}
    )
    assert changed.status_code == 200, changed.text
    assert [w["title"] for w in changed.json()["widgets"]] == ["DAU"]
    assert changed.json()["refresh_interval_seconds"] == 60
    assert admin.patch(url, json={"description": "Checked by the admin"}).status_code == 200
    assert alice.post("/api/analytics/dashboards/", json={"name": "Fight week"}).status_code == 422
    assert bob.delete(url).status_code == 403
    assert alice.delete(url).status_code == 204
    assert alice.get(url).status_code == 404


def test_default_dashboards_are_changed_by_admins_only(alice: TestClient, admin: TestClient):
    overview = next(
        d for d in admin.get("/api/analytics/dashboards/").json() if d["name"] == "Overview"
    )
    url = f"/api/analytics/dashboards/{overview['id']}"
    refused = alice.patch(url, json={"refresh_interval_seconds": 60})
    assert refused.status_code == 403 and "default" in refused.json()["detail"]
    assert admin.patch(url, json={"refresh_interval_seconds": 300}).status_code == 200


def test_a_dashboard_cannot_show_what_its_author_cannot_read_or_draw(
    alice: TestClient, bob: TestClient
):
    private = create(alice, name="Alice's secret")
    position = {"x": 0, "y": 0, "w": 6, "h": 4}
    cases = [
        (
            {"report_id": private["id"], "visualization": "table"},
            ["body", "widgets", 0, "report_id"],
        ),
        ({"panel": "funnel", "visualization": "funnel", "options": {"funnel": "nope"}}, None),
        ({"metric": "dau", "visualization": "heatmap"}, None),
        ({"metric": "dau", "report_id": private["id"], "visualization": "line"}, None),
        ({"panel": "retention", "visualization": "table"}, None),
        ({"panel": "content", "visualization": "table", "options": {"sort": "nope"}}, None),
        ({"panel": "content", "visualization": "table", "options": {"sort": 3}}, None),
    ]
    for widget, loc in cases:
        body = {"name": "Bob's", "widgets": [{"title": "w", "position": position, **widget}]}
        response = bob.post("/api/analytics/dashboards/", json=body)
        assert response.status_code == 422, (widget, response.text)
        if loc is not None:
            assert response.json()["detail"][0]["loc"] == loc


def test_the_toolbar_context_offers_the_platforms_values(victor: TestClient):
    body = victor.get("/api/analytics/dashboards/filters").json()
    assert body["last_data_day"] == LAST_DAY.isoformat()
    values = {f["name"]: (f["dimension"], f["values"]) for f in body["filters"]}
    # The docstring: web browsers (desktop) and the app (mobile); no referrer or campaign
    # anywhere, so every session is direct; no GeoIP database, so no country.
    assert values == {
        "device": ("device_type", ["desktop", "mobile"]),
        "country": ("country", []),
        "source": ("source", ["direct"]),
    }
