"""Security headers and rate limits (issue 21, finding 7): every kind of response carries
a Content-Security-Policy fit for its page, nosniff, DENY framing and a Referrer-Policy
(none at all from shared pages, whose URL is the credential), HSTS only over HTTPS; and
sign-in attempts per address, requests per API key and collector requests per write key
are refused with 429 and Retry-After past their limit while others are still served.
The app and a shared page run under their policies in Chromium without a violation."""

import os
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from playwright.sync_api import ConsoleMessage
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.main import create_app
from ringside.core.appdb import session
from ringside.core.settings import Settings, get_settings
from ringside.reports.library import create_report
from tests.api_client import api_client, new_key
from tests.browser import chromium, chromium_path, login, serving, visit
from tests.test_report_delivery import revenue_spec, served_home
from tests.test_sharing import ACME, share

WRITE_KEY = ("demo-write-key", "")
EVENT = {"type": "track", "event": "Signed Up", "anonymousId": "a-1"}


def app_of(settings: Settings) -> FastAPI:
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    return app


def behind_proxy(app: FastAPI) -> TestClient:
    """A client of the app as `uvicorn --proxy-headers` serves it behind a trusted proxy:
    X-Forwarded-Proto and X-Forwarded-For become the request's scheme and client."""
    return TestClient(ProxyHeadersMiddleware(app, trusted_hosts="*"))


def csp(response: Response) -> dict[str, str]:
    """The Content-Security-Policy's directives, by name."""
    directives = (
        d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";")
    )
    return {name: value for name, value in directives}


def assert_common_headers(response: Response, referrer_policy: str) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == referrer_policy
    assert csp(response)["frame-ancestors"] == "'none'"
    assert response.headers["server-timing"].startswith("app;dur=")


def assert_app_policy(response: Response) -> None:
    assert_common_headers(response, "strict-origin-when-cross-origin")
    policy = csp(response)
    # Scripts only from this origin (no inline script, no eval): default-src covers them.
    assert "script-src" not in policy and policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"  # plotly injects <style>


def test_the_app_the_api_the_collector_and_errors_carry_the_app_policy(settings: Settings):
    client = TestClient(app_of(settings))
    key = {"Authorization": f"Bearer {new_key(settings)}"}
    responses = {
        "app": client.get("/app/"),
        "asset": client.get("/assets/app.css"),
        "plotly": client.get("/assets/vendor/plotly.min.js"),
        "api": client.get("/api/session", headers=key),
        "401": client.get("/api/session"),
        "collector": client.post("/v1/track", json=EVENT, auth=WRITE_KEY),
        "422": client.post("/v1/track", content=b"[", auth=WRITE_KEY),
        "404": client.get("/no/such/page"),
        "openapi": client.get("/openapi.json"),
    }
    statuses = {name: response.status_code for name, response in responses.items()}
    assert statuses == {
        "app": 200,
        "asset": 200,
        "plotly": 200,
        "api": 200,
        "401": 401,
        "collector": 200,
        "422": 400,
        "404": 404,
        "openapi": 200,
    }
    for name, response in responses.items():
        assert_app_policy(response)
        assert "strict-transport-security" not in response.headers, name  # plain HTTP


def test_hsts_only_over_https(settings: Settings):
    client = behind_proxy(app_of(settings))
    over_tls = client.get("/app/", headers={"X-Forwarded-Proto": "https"})
    assert over_tls.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in client.get("/app/").headers
    # A public https URL (TLS ends before a proxy that does not say so): always.
    public = TestClient(app_of(settings.model_copy(update={"public_url": "https://rs.test"})))
    assert public.get("/health").headers["strict-transport-security"] == "max-age=31536000"


def test_the_api_docs_may_load_swagger_and_redoc_from_their_cdn(settings: Settings):
    client = TestClient(app_of(settings))
    for path in ("/docs", "/docs/oauth2-redirect", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_common_headers(response, "strict-origin-when-cross-origin")
        policy = csp(response)
        assert "https://cdn.jsdelivr.net" in policy["script-src"]
        assert "'unsafe-inline'" in policy["script-src"]  # FastAPI's starting script
        assert "https://fonts.gstatic.com" in policy["font-src"]
        assert policy["worker-src"] == "'self' blob:"
    # Only there: the app's pages keep a policy without inline scripts.
    assert "script-src" not in csp(client.get("/app/"))


@pytest.fixture
def shared_settings(business_warehouse: Settings, tmp_path: Path) -> Settings:
    """A home serving the hand-built business warehouse, with a public https URL."""
    home = served_home(business_warehouse, tmp_path / "home")
    return Settings(home=home, public_url="https://rs.test/")


@pytest.fixture
def token(shared_settings: Settings) -> str:
    """A share link of a report of the admin key's, branded as Acme (an external logo)."""
    admin = api_client(shared_settings, "admin")
    assert admin.post("/api/analytics/partners/", json=ACME).status_code == 201
    owner = admin.get("/api/session").json()["principal_id"]
    with session(shared_settings) as db:
        report_id = create_report(db, owner, revenue_spec(schedule=None)).id
    return str(share(admin, report_id, partner="acme")["token"])


def test_shared_pages_send_no_referrer_and_allow_no_script(shared_settings: Settings, token: str):
    client = TestClient(app_of(shared_settings))
    for path in (f"/shared/{token}", f"/shared/{token}/data", "/shared/no-such-token"):
        response = client.get(path)
        assert response.status_code == (404 if "no-such" in path else 200), path
        assert_common_headers(response, "no-referrer")
        policy = csp(response)
        assert policy["default-src"] == "'none'"  # so no script of any kind
        assert policy["style-src"] == "'unsafe-inline'"  # the template's <style>
        assert "https:" in policy["img-src"].split()  # the partner's logo
        # public_url is https: HSTS even on this plain-HTTP test request.
        assert response.headers["strict-transport-security"] == "max-age=31536000"
    page = client.get(f"/shared/{token}").text
    assert (
        "<style>" in page and 'src="https://acme.test/logo.png"' in page and "<script" not in page
    )


def limited(settings: Settings, **limits: str) -> Settings:
    return settings.model_copy(
        update={f"rate_limit_{name}": value for name, value in limits.items()}
    )


def assert_refused(response: Response, setting: str) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert setting in response.json()["detail"]
    assert response.headers["x-content-type-options"] == "nosniff"  # errors carry them too


def test_sign_in_attempts_are_limited_per_address(settings: Settings):
    client = behind_proxy(app_of(limited(settings, sign_in="3/minute")))
    key = new_key(settings)
    here, there = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "203.0.113.8"}
    for _ in range(3):
        assert (
            client.post("/api/session", json={"api_key": "rs_guess"}, headers=here).status_code
            == 401
        )
    assert_refused(
        client.post("/api/session", json={"api_key": key}, headers=here),
        "RINGSIDE_RATE_LIMIT_SIGN_IN",
    )
    # Nor does the right key get a verdict through the API from that address...
    bearer = {"Authorization": f"Bearer {key}"}
    assert_refused(client.get("/api/session", headers=here | bearer), "RINGSIDE_RATE_LIMIT_SIGN_IN")
    # ...while another address signs in and is served.
    assert client.post("/api/session", json={"api_key": key}, headers=there).status_code == 200
    assert client.get("/api/session", headers=there | bearer).status_code == 200


def test_wrong_api_keys_count_against_the_sign_in_limit(settings: Settings):
    client = behind_proxy(app_of(limited(settings, sign_in="3/minute")))
    here = {"X-Forwarded-For": "203.0.113.7", "Authorization": "Bearer rs_guess"}
    for _ in range(3):
        assert client.get("/api/analytics/overview/", headers=here).status_code == 401
    assert_refused(
        client.get("/api/analytics/overview/", headers=here), "RINGSIDE_RATE_LIMIT_SIGN_IN"
    )
    # Requests without any key guess nothing and are not counted.
    assert client.get("/api/session", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401


def test_requests_are_limited_per_api_key_and_session(settings: Settings):
    app = app_of(limited(settings, api="3/minute"))
    first, second = new_key(settings), new_key(settings)
    client = TestClient(app, headers={"Authorization": f"Bearer {first}"})
    for _ in range(3):
        assert client.get("/api/session").status_code == 200
    assert_refused(client.get("/api/session"), "RINGSIDE_RATE_LIMIT_API")
    assert TestClient(app).get("/api/session", headers={"X-API-Key": second}).status_code == 200
    # A web app session counts against the key it was signed in with.
    browser = TestClient(app)
    assert browser.post("/api/session", json={"api_key": first}).status_code == 200
    assert_refused(browser.get("/api/session"), "RINGSIDE_RATE_LIMIT_API")


def test_collector_requests_are_limited_per_write_key(settings: Settings):
    app = app_of(
        limited(settings, collector="3/minute").model_copy(update={"write_keys": ["w1", "w2"]})
    )
    client = TestClient(app)
    batch = {"batch": [EVENT, EVENT]}  # a batch is one request, whatever its length
    assert client.post("/v1/batch", json=batch, auth=("w1", "")).status_code == 200
    assert client.post("/v1/track", json=EVENT, auth=("w1", "")).status_code == 200
    assert client.post("/v1/track", json=EVENT | {"writeKey": "w1"}).status_code == 200
    assert_refused(
        client.post("/v1/track", json=EVENT, auth=("w1", "")), "RINGSIDE_RATE_LIMIT_COLLECTOR"
    )
    assert client.post("/v1/track", json=EVENT, auth=("w2", "")).status_code == 200


def test_each_app_counts_apart_and_limits_can_be_turned_off(settings: Settings):
    tight = limited(settings, sign_in="1/minute")
    attempt = {"api_key": "rs_guess"}
    first = TestClient(app_of(tight))
    assert first.post("/api/session", json=attempt).status_code == 401
    assert first.post("/api/session", json=attempt).status_code == 429
    assert TestClient(app_of(tight)).post("/api/session", json=attempt).status_code == 401
    off = TestClient(app_of(tight.model_copy(update={"rate_limit_enabled": False})))
    assert {off.post("/api/session", json=attempt).status_code for _ in range(3)} == {401}


# --- in the browser --------------------------------------------------------------------

EXECUTABLE = chromium_path()
needs_chromium = pytest.mark.skipif(
    EXECUTABLE is None and os.environ.get("CI") != "true", reason="no chromium (make browser)"
)


def csp_reports(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m]


@needs_chromium
def test_the_app_and_a_shared_page_run_under_their_policies(shared_settings: Settings, token: str):
    assert EXECUTABLE is not None
    messages: list[str] = []

    def console(message: ConsoleMessage) -> None:
        messages.append(message.text)

    with (
        serving(shared_settings) as origin,
        chromium(EXECUTABLE) as browser,
        visit(browser, origin) as seen,
    ):
        seen.page.on("console", console)
        login(seen, new_key(shared_settings, "admin"))
        seen.wait_for_dashboard()
        # A plotly chart (it injects its <style> elements) in the app's page.
        seen.page.evaluate(
            """() => {
                const div = document.createElement("div");
                document.body.append(div);
                return Plotly.newPlot(div, [{x: [1, 2, 3], y: [2, 1, 3], type: "bar"}]);
            }"""
        )
        assert seen.page.locator(".main-svg").count() > 0
        seen.open(f"/shared/{token}")
        assert seen.page.locator("h1").inner_text() == "Revenue by day"
        assert csp_reports(messages) == []
        # The check sees a violation when there is one: an inline script is refused.
        seen.page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "1";
                document.body.append(script);
            }"""
        )
        seen.page.wait_for_timeout(200)
    assert len(csp_reports(messages)) == 1
