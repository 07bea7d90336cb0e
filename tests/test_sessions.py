"""Web app sign-in: an API key becomes a signed session cookie that alone authenticates,
stops working when the key is revoked, altered or too old, and cannot write without the
app's header; every response carries the app's Server-Timing."""

import time

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from api.main import create_app
from ringside.access.keys import list_keys, revoke_key
from ringside.access.sessions import COOKIE_NAME, session_secret
from ringside.core.appdb import session
from ringside.core.settings import Settings
from tests.api_client import new_key


def signed_in(settings: Settings, role: str = "viewer") -> tuple[TestClient, str]:
    client = TestClient(create_app())
    secret = new_key(settings, role)  # type: ignore[arg-type]
    response = client.post("/api/session", json={"api_key": secret})
    assert response.status_code == 200, response.text
    assert response.json() == {"name": f"test-{role}", "role": role}
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
    return client, secret


def test_the_cookie_alone_reads_and_shows_who_is_signed_in(settings: Settings):
    client, secret = signed_in(settings)
    assert secret not in client.cookies[COOKIE_NAME]  # the key itself is never in the cookie
    assert client.get("/api/session").json() == {"name": "test-viewer", "role": "viewer"}
    assert client.get("/api/analytics/reports/catalog").status_code == 200
    # The role is the key's: a viewer's cookie does not open an analyst route.
    assert client.post("/api/analytics/reports/preview", json={}).status_code == 403


def test_a_bad_key_gets_no_cookie(settings: Settings):
    client = TestClient(create_app())
    response = client.post("/api/session", json={"api_key": "rs_nope"})
    assert response.status_code == 401
    assert "invalid" in response.json()["detail"]
    assert COOKIE_NAME not in client.cookies
    assert client.get("/api/session").status_code == 401


def test_revoking_the_key_ends_the_session(settings: Settings):
    client, _ = signed_in(settings)
    with session(settings) as db:
        revoke_key(db, key_id=client_key_id(settings))
    response = client.get("/api/session")
    assert response.status_code == 401
    assert "sign in again" in response.json()["detail"]


def client_key_id(settings: Settings) -> int:
    with session(settings) as db:
        (key,) = [k for k in list_keys(db) if k.name == "test-viewer"]
    return key.id


class SignedHoursAgo(TimestampSigner):
    """Signs as if 13 hours ago: past the default 12-hour session."""

    def get_timestamp(self) -> int:
        return int(time.time()) - 13 * 3600


def test_an_altered_or_expired_cookie_is_refused(settings: Settings):
    client, _ = signed_in(settings)
    token = client.cookies[COOKIE_NAME]
    client.cookies.set(COOKIE_NAME, token[:-2] + ("BB" if token.endswith("AA") else "AA"))
    assert client.get("/api/session").status_code == 401
    secret = session_secret(settings)
    payload = {"key_id": client_key_id(settings)}
    fresh = URLSafeTimedSerializer(secret, salt="ringside-session").dumps(payload)
    client.cookies.set(COOKIE_NAME, fresh)
    assert client.get("/api/session").status_code == 200
    old = URLSafeTimedSerializer(secret, salt="ringside-session", signer=SignedHoursAgo)
    client.cookies.set(COOKIE_NAME, old.dumps(payload))
    assert client.get("/api/session").status_code == 401


def test_cookie_writes_need_the_app_header(settings: Settings):
    client, _ = signed_in(settings, "analyst")
    body = {"name": "From the browser"}
    refused = client.post("/api/analytics/dashboards/", json=body)
    assert refused.status_code == 403
    assert "X-Requested-With" in refused.json()["detail"]
    made = client.post(
        "/api/analytics/dashboards/", json=body, headers={"X-Requested-With": "ringside"}
    )
    assert made.status_code == 201, made.text
    # A key sent as a header needs no such header (no browser sends it by itself).
    keyed = TestClient(create_app(), headers={"X-API-Key": new_key(settings, "analyst")})
    assert (
        keyed.post("/api/analytics/dashboards/", json={"name": "From a script"}).status_code == 201
    )


def test_signing_out_clears_the_cookie(settings: Settings):
    client, _ = signed_in(settings)
    assert client.delete("/api/session").status_code == 204
    assert COOKIE_NAME not in client.cookies
    assert client.get("/api/session").status_code == 401


def test_the_session_secret_is_made_once_and_kept_private(settings: Settings):
    first = session_secret(settings)
    assert session_secret(settings) == first and len(first) >= 48
    assert settings.layout.session_secret_path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("path", ["/health", "/app/", "/api/session"])
def test_every_response_says_how_long_the_app_took(settings: Settings, path: str):
    response = TestClient(create_app()).get(path)
    name, duration = response.headers["server-timing"].split(";dur=")
    assert name == "app" and float(duration) >= 0
