"""Access control: API keys (shown once, stored hashed, revocable) through the API and
the CLI, and the access matrix: every route of the app, called with no key and with a
viewer, analyst and admin key, answers as the role table below says."""

import hashlib
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from api.main import create_app
from ringside.access.roles import ROLES, Role
from ringside.cli import CliError
from ringside.cli import app as cli
from ringside.core.appdb import session
from ringside.core.settings import Settings
from tests.api_client import api_client, new_key
from tests.platforms import platform_environment

KEYS = "/api/analytics/keys/"

# Written by hand from the intended roles (common brief of issue 9), not read from the
# code: a route whose dependency disagrees fails the matrix below.
REQUIRED: dict[tuple[str, str], Role] = {
    ("GET", "/api/session"): "viewer",
    ("GET", "/api/analytics/overview/"): "viewer",
    ("GET", "/api/analytics/real-time/"): "viewer",
    ("GET", "/api/analytics/users/"): "viewer",
    ("GET", "/api/analytics/content/"): "viewer",
    ("GET", "/api/analytics/funnels/"): "viewer",
    ("GET", "/api/analytics/funnels/saved"): "viewer",
    ("GET", "/api/analytics/funnels/{name}/daily"): "viewer",
    ("GET", "/api/analytics/cohorts/"): "viewer",
    ("GET", "/api/analytics/retention/"): "viewer",
    ("GET", "/api/analytics/predictions/"): "viewer",
    ("GET", "/api/analytics/business/"): "viewer",
    ("GET", "/api/analytics/business/catalog"): "viewer",
    ("GET", "/api/analytics/kpis/"): "viewer",
    ("PUT", "/api/analytics/kpis/{metric}"): "admin",
    ("DELETE", "/api/analytics/kpis/{metric}"): "admin",
    ("GET", "/api/analytics/alerts/rules"): "viewer",
    ("POST", "/api/analytics/alerts/rules"): "admin",
    ("GET", "/api/analytics/alerts/rules/{rule_id}"): "viewer",
    ("PATCH", "/api/analytics/alerts/rules/{rule_id}"): "admin",
    ("DELETE", "/api/analytics/alerts/rules/{rule_id}"): "admin",
    ("GET", "/api/analytics/alerts/history"): "viewer",
    ("GET", "/api/analytics/reports/catalog"): "viewer",
    ("GET", "/api/analytics/reports/"): "viewer",
    ("POST", "/api/analytics/reports/"): "analyst",
    ("POST", "/api/analytics/reports/preview"): "analyst",
    ("GET", "/api/analytics/reports/{report_id}"): "viewer",
    ("PATCH", "/api/analytics/reports/{report_id}"): "analyst",
    ("DELETE", "/api/analytics/reports/{report_id}"): "analyst",
    ("POST", "/api/analytics/reports/{report_id}/run"): "viewer",
    ("POST", "/api/analytics/reports/{report_id}/duplicate"): "analyst",
    ("GET", "/api/analytics/reports/{report_id}/runs"): "viewer",
    ("POST", "/api/analytics/reports/{report_id}/deliver"): "analyst",
    ("GET", "/api/analytics/reports/{report_id}/shares"): "analyst",
    ("POST", "/api/analytics/reports/{report_id}/shares"): "analyst",
    ("DELETE", "/api/analytics/reports/{report_id}/shares/{share_id}"): "analyst",
    ("GET", "/api/analytics/export/"): "analyst",
    ("GET", "/api/analytics/dashboards/"): "viewer",
    ("GET", "/api/analytics/dashboards/{dashboard_id}"): "viewer",
    ("GET", "/api/analytics/dashboards/filters"): "viewer",
    ("POST", "/api/analytics/dashboards/"): "analyst",
    ("PATCH", "/api/analytics/dashboards/{dashboard_id}"): "analyst",
    ("DELETE", "/api/analytics/dashboards/{dashboard_id}"): "analyst",
    ("GET", "/api/analytics/partners/"): "viewer",
    ("POST", "/api/analytics/partners/"): "admin",
    ("PATCH", "/api/analytics/partners/{partner_id}"): "admin",
    ("DELETE", "/api/analytics/partners/{partner_id}"): "admin",
    ("GET", "/api/analytics/keys/"): "admin",
    ("POST", "/api/analytics/keys/"): "admin",
    ("PATCH", "/api/analytics/keys/{key_id}"): "admin",
    ("DELETE", "/api/analytics/keys/{key_id}"): "admin",
}

# Callable without an API key: the probe, the collector (its own write keys), shared
# report links (the token is the credential) and the web app's shell and scripts (they
# hold no data; the pages log in before reading any).
PUBLIC: set[tuple[str, str]] = {
    ("GET", "/health"),
    ("POST", "/v1/batch"),
    ("POST", "/v1/track"),
    ("POST", "/v1/page"),
    ("POST", "/v1/screen"),
    ("POST", "/v1/identify"),
    ("POST", "/v1/alias"),
    ("POST", "/api/analytics/events/"),
    ("GET", "/shared/{token}"),
    ("GET", "/shared/{token}/data"),
    ("GET", "/"),
    ("GET", "/app"),
    ("GET", "/app/{page:path}"),
    ("GET", "/assets/vendor/plotly.min.js"),
    ("POST", "/api/session"),
    ("DELETE", "/api/session"),
}

# Path parameters that are not ids, filled with a valid-looking value; ids get 999999.
DUMMY = {"metric": "dau", "name": "no_such_funnel", "token": "no-such-token"}


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves, included routers too (their
    routes are not in `app.routes` itself since FastAPI 0.137), the docs pages aside."""
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    return {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if route.path not in docs
        for method in route.methods or ()
        if method != "HEAD"
    }


def unclassified(app: FastAPI) -> set[tuple[str, str]]:
    return api_routes(app) - PUBLIC - REQUIRED.keys()


def call(client: TestClient, method: str, path: str, secret: str | None = None) -> int:
    """The status of one request to the route with dummy path values and an empty JSON
    body (a 404 or 422 then means the request got past access control)."""
    url = re.sub(r"\{(\w+)\}", lambda m: DUMMY.get(m.group(1), "999999"), path)
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    return client.request(method, url, headers=headers, json=body).status_code


@pytest.fixture(scope="module")
def matrix(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[Role, str]]]:
    """A client of the app on a fresh RINGSIDE_HOME (no warehouse) and a key per role."""
    home = tmp_path_factory.mktemp("access") / "home"
    with platform_environment(Settings(home=home)) as settings:
        yield TestClient(create_app()), {role: new_key(settings, role) for role in ROLES}


def test_every_route_is_either_public_or_has_a_required_role():
    routes = api_routes(create_app())
    # The enumeration sees what the OpenAPI schema documents (it is not vacuous).
    documented = {
        (method.upper(), path)
        for path, operations in create_app().openapi()["paths"].items()
        for method in operations
    }
    assert documented <= routes
    assert not PUBLIC & REQUIRED.keys()
    assert unclassified(create_app()) == set(), "classify new routes in REQUIRED or PUBLIC"
    assert (PUBLIC | REQUIRED.keys()) - routes == set(), "routes listed here the app lacks"


@pytest.mark.parametrize(("method", "path"), sorted(api_routes(create_app()) - PUBLIC))
def test_access_matrix(matrix: tuple[TestClient, dict[Role, str]], method: str, path: str):
    client, keys = matrix
    required = REQUIRED.get((method, path))
    assert required is not None, f"{method} {path} is neither public nor given a role"
    assert call(client, method, path) == 401
    assert call(client, method, path, "rs_not-a-key") == 401
    for role in ROLES:
        status = call(client, method, path, keys[role])
        if ROLES.index(role) < ROLES.index(required):
            assert status == 403, f"{role} on {method} {path}: {status}"
        else:
            assert status not in (401, 403), f"{role} on {method} {path}: {status}"


def test_a_route_added_without_a_dependency_is_caught():
    app = create_app()

    @app.get("/api/analytics/forgotten")
    def forgotten() -> dict[str, str]:
        return {"open": "to anyone"}

    assert ("GET", "/api/analytics/forgotten") in unclassified(app)
    assert call(TestClient(app), "GET", "/api/analytics/forgotten") == 200  # not 401


def test_health_the_collector_and_shared_links_need_no_api_key(settings: Settings):
    client = TestClient(create_app())
    assert client.get("/health").status_code == 200
    assert client.get("/shared/no-such-token").status_code == 404  # the token decides
    event = {"type": "page", "anonymousId": "a", "messageId": "m1"}
    response = client.post("/v1/batch", json={"batch": [event]}, auth=("demo-write-key", ""))
    assert response.status_code == 200


def test_a_key_is_shown_once_and_stored_only_hashed(settings: Settings):
    admin = api_client(role="admin")
    created = admin.post(KEYS, json={"name": "ana", "role": "analyst", "email": "a@x.org"})
    assert created.status_code == 201
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("rs_") and len(secret) > 40
    fields = ("name", "role", "email", "prefix", "last_used_at", "revoked_at")
    assert {field: body[field] for field in fields} == {
        "name": "ana",
        "role": "analyst",
        "email": "a@x.org",
        "prefix": secret[:11],
        "last_used_at": None,
        "revoked_at": None,
    }
    listed = admin.get(KEYS, params={"include_revoked": True})
    assert secret not in listed.text and "secret" not in listed.json()[0]
    with session(settings) as db:
        rows = (
            db.execute(
                text(
                    "select k.* from api_keys k join principals p on p.id = k.principal_id"
                    " where p.name = 'ana'"
                )
            )
            .mappings()
            .all()
        )
    assert len(rows) == 1
    assert rows[0]["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(value) for value in rows[0].values())
    assert secret.encode() not in settings.layout.app_db_path.read_bytes()
    # What the key may do is what its role may (here sent as X-API-Key).
    analyst = TestClient(create_app(), headers={"X-API-Key": secret})
    assert analyst.get("/api/analytics/kpis/").status_code == 200
    assert analyst.get(KEYS).status_code == 403


def test_revoked_and_unknown_keys_get_401_and_use_is_recorded(settings: Settings):
    admin = api_client(role="admin")
    created = admin.post(KEYS, json={"name": "temp", "role": "viewer"}).json()
    viewer = {"Authorization": f"Bearer {created['secret']}"}

    def last_used() -> str | None:
        return {key["id"]: key for key in admin.get(KEYS).json()}[created["id"]]["last_used_at"]

    assert last_used() is None
    assert admin.get("/api/analytics/kpis/", headers=viewer).status_code == 200
    used = last_used()
    assert used is not None and used >= created["created_at"]

    revoked = admin.delete(f"{KEYS}{created['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    answer = admin.get("/api/analytics/kpis/", headers=viewer)
    assert answer.status_code == 401 and answer.json()["detail"] == "invalid or revoked API key"
    assert created["id"] not in [key["id"] for key in admin.get(KEYS).json()]
    assert created["id"] in [k["id"] for k in admin.get(KEYS, params={"include_revoked": 1}).json()]
    assert admin.delete(f"{KEYS}999999").status_code == 404
    unknown = {"Authorization": "Bearer rs_never-issued"}
    assert admin.get("/api/analytics/kpis/", headers=unknown).status_code == 401


def test_cli_creates_lists_replaces_and_revokes_keys(settings: Settings):
    runner = CliRunner()
    first = runner.invoke(cli, ["keys", "create", "--role", "analyst", "--name", "ci"])
    assert first.exit_code == 0, first.output
    secret = re.search(r"rs_\S+", first.output).group()
    assert "not shown again" in first.output
    client = TestClient(create_app())
    as_ci = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/analytics/kpis/", headers=as_ci).status_code == 200
    assert client.get(KEYS, headers=as_ci).status_code == 403  # analyst, not admin

    listed = runner.invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0
    header, row = listed.output.splitlines()
    columns = ["id", "principal", "name", "role", "prefix", "created", "last", "used", "revoked"]
    assert header.split() == columns
    assert row.split()[:5] == ["1", "1", "ci", "analyst", secret[:11]] and row.split()[-1] == "-"
    assert secret not in listed.output

    replaced = runner.invoke(
        cli, ["keys", "create", "--role", "admin", "--name", "ci", "--replace"]
    )
    assert replaced.exit_code == 0 and "revoked key 1" in replaced.output
    second = re.search(r"rs_\S+", replaced.output.split("created")[1]).group()
    assert client.get("/api/analytics/kpis/", headers=as_ci).status_code == 401
    as_second = {"Authorization": f"Bearer {second}"}
    assert client.get(KEYS, headers=as_second).status_code == 200
    # The replacement is the same principal's (a rotation): it keeps what ci owns.
    assert "for principal 1 (ci)" in replaced.output
    assert runner.invoke(cli, ["keys", "set-role", "2", "analyst"]).exit_code == 0
    assert client.get(KEYS, headers=as_second).status_code == 403
    assert runner.invoke(cli, ["keys", "set-role", "2", "admin"]).exit_code == 0
    # Another key for principal 1 by id; neither or both of --name and --principal: refused.
    extra = runner.invoke(cli, ["keys", "create", "--role", "viewer", "--principal", "1"])
    assert extra.exit_code == 0 and "key 3 for principal 1" in extra.output
    assert runner.invoke(cli, ["keys", "revoke", "3"]).exit_code == 0
    neither = runner.invoke(cli, ["keys", "create", "--role", "viewer"])
    assert isinstance(neither.exception, CliError)

    assert runner.invoke(cli, ["keys", "revoke", "2"]).exit_code == 0
    assert client.get(KEYS, headers=as_second).status_code == 401
    everything = runner.invoke(cli, ["keys", "list", "--include-revoked"]).output.splitlines()
    assert [line.split()[0] for line in everything[1:]] == ["1", "2", "3"]
    assert runner.invoke(cli, ["keys", "list"]).output.splitlines()[1:] == []
    unknown = runner.invoke(cli, ["keys", "revoke", "99"])
    assert isinstance(unknown.exception, CliError) and "no API key 99" in str(unknown.exception)
    bad_role = runner.invoke(cli, ["keys", "create", "--role", "owner", "--name", "x"])
    assert bad_role.exit_code == 2


REPORTS = "/api/analytics/reports/"
DASHBOARDS = "/api/analytics/dashboards/"
# A report needs no warehouse to be saved or read back (only to run).
SPEC = {
    "name": "Weekly audience",
    "metrics": ["dau"],
    "date_range": {"type": "relative", "preset": "last_7_days"},
}


def as_key(secret: str) -> TestClient:
    return TestClient(create_app(), headers={"Authorization": f"Bearer {secret}"})


def test_a_namesake_of_a_revoked_key_inherits_nothing(settings: Settings):
    admin = api_client(role="admin")
    ana = admin.post(KEYS, json={"name": "ana", "role": "analyst"}).json()
    report = as_key(ana["secret"]).post(REPORTS, json=SPEC).json()
    shared = as_key(ana["secret"]).post(
        REPORTS, json={**SPEC, "name": "For ana", "visibility": "private"}
    )
    dashboard = as_key(ana["secret"]).post(DASHBOARDS, json={"name": "Ana's board"}).json()
    assert report["owner"] == "ana" and report["owner_id"] == ana["principal_id"]
    assert admin.delete(f"{KEYS}{ana['id']}").status_code == 200

    # Another person called ana: a new principal, owning none of the first one's objects.
    namesake = admin.post(KEYS, json={"name": "ana", "role": "analyst"}).json()
    assert namesake["principal_id"] != ana["principal_id"]
    new_ana = as_key(namesake["secret"])
    assert new_ana.get(f"{REPORTS}{report['id']}").status_code == 404
    assert new_ana.get(f"{REPORTS}{shared.json()['id']}").status_code == 404
    assert report["id"] not in [r["id"] for r in new_ana.get(REPORTS).json()]
    assert new_ana.get(REPORTS, params={"owner": "ana"}).json() == []
    patched = new_ana.patch(f"{DASHBOARDS}{dashboard['id']}", json={"description": "mine now"})
    assert patched.status_code == 403
    # The objects stay with the first principal ...
    assert admin.get(f"{REPORTS}{report['id']}").json()["owner_id"] == ana["principal_id"]
    # ... who gets them back with a new key of their own (a rotation, by principal id).
    again = admin.post(KEYS, json={"principal_id": ana["principal_id"], "role": "analyst"})
    assert again.status_code == 201 and again.json()["name"] == "ana"
    back = as_key(again.json()["secret"])
    assert back.get(f"{REPORTS}{report['id']}").status_code == 200
    assert (
        back.patch(f"{DASHBOARDS}{dashboard['id']}", json={"description": "x"}).status_code == 200
    )
    # Exactly one of name and principal_id; an unknown principal is refused.
    assert admin.post(KEYS, json={"role": "viewer"}).status_code == 422
    both = {"name": "x", "principal_id": ana["principal_id"], "role": "viewer"}
    assert admin.post(KEYS, json=both).status_code == 422
    assert admin.post(KEYS, json={"principal_id": 999999, "role": "viewer"}).status_code == 422


def test_users_are_shared_with_by_principal_not_by_name(settings: Settings):
    admin = api_client(role="admin")
    ana, bob = (
        admin.post(KEYS, json={"name": n, "role": "analyst"}).json() for n in ("ana", "bob")
    )
    made = as_key(ana["secret"]).post(
        REPORTS, json={**SPEC, "visibility": "shared", "shared_with_users": ["bob"]}
    )
    assert made.status_code == 201 and made.json()["shared_with_users"] == [bob["principal_id"]]
    report = f"{REPORTS}{made.json()['id']}"
    assert as_key(bob["secret"]).get(report).status_code == 200
    admin.delete(f"{KEYS}{bob['id']}")
    other_bob = admin.post(KEYS, json={"name": "bob", "role": "analyst"}).json()
    assert as_key(other_bob["secret"]).get(report).status_code == 404
    # A name two active principals share picks out no one: refused, naming the field.
    admin.post(KEYS, json={"name": "bob", "role": "viewer"})
    ambiguous = as_key(ana["secret"]).patch(report, json={"shared_with_users": ["bob"]})
    assert ambiguous.status_code == 422
    assert ambiguous.json()["detail"][0]["loc"] == ["body", "shared_with_users", 0]
    unknown = as_key(ana["secret"]).patch(report, json={"shared_with_users": ["nobody"]})
    assert unknown.status_code == 422


@pytest.mark.parametrize(
    ("shared_with", "readers"),
    [
        (["viewer"], {"viewer", "analyst", "admin"}),
        (["analyst"], {"analyst", "admin"}),
        ([], {"admin"}),
    ],
)
def test_sharing_with_a_role_includes_the_roles_above_it(
    settings: Settings, shared_with: list[str], readers: set[str]
):
    owner = api_client(role="analyst")
    body = {**SPEC, "visibility": "shared", "shared_with_roles": shared_with}
    report = owner.post(REPORTS, json=body).json()
    dashboard = api_client(role="admin").post(
        DASHBOARDS, json={"name": f"For {shared_with}", "allowed_roles": shared_with or ["admin"]}
    )
    assert dashboard.status_code == 201, dashboard.text
    for role in ROLES:
        other = api_client(role=role)  # a principal other than the owner
        can_read = other.get(f"{REPORTS}{report['id']}").status_code == 200
        can_open = other.get(f"{DASHBOARDS}{dashboard.json()['id']}").status_code == 200
        assert (can_read, can_open) == (role in readers, role in readers), role
