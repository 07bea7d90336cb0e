"""Web app sign-in: an API key becomes a server-side session whose random token is the
cookie; the cookie alone authenticates, and stops working when the session is signed out,
expires, or its key is revoked, and cannot write without the app's header; every response
carries the app's Server-Timing."""

import hashlib
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from api.main import create_app
from ringside.access.keys import KeyInfo, list_keys, revoke_key
from ringside.access.sessions import COOKIE_NAME
from ringside.core.appdb import session, utcnow
from ringside.core.appdb.access import WebSession
from ringside.core.settings import Settings
from tests.api_client import new_key


def signed_in(settings: Settings, role: str = "viewer") -> tuple[TestClient, str]:
    client = TestClient(create_app())
    secret = new_key(settings, role)  # type: ignore[arg-type]
    response = client.post("/api/session", json={"api_key": secret})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "principal_id": client_key(settings, role).principal_id,
        "name": f"test-{role}",
        "role": role,
    }
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
    return client, secret


def client_key(settings: Settings, role: str = "viewer") -> KeyInfo:
    with session(settings) as db:
        (key,) = [k for k in list_keys(db) if k.name == f"test-{role}"]
    return key


def test_the_cookie_alone_reads_and_shows_who_is_signed_in(settings: Settings):
    client, secret = signed_in(settings)
    assert secret not in client.cookies[COOKIE_NAME]  # the key itself is never in the cookie
    assert client.get("/api/session").json()["name"] == "test-viewer"
    assert client.get("/api/analytics/reports/catalog").status_code == 200
    # The role is the key's: a viewer's cookie does not open an analyst route.
    assert client.post("/api/analytics/reports/preview", json={}).status_code == 403


def test_the_cookie_is_a_random_token_kept_only_hashed(settings: Settings):
    client, _ = signed_in(settings)
    token = client.cookies[COOKIE_NAME]
    assert len(token) >= 43  # 256 bits, URL-safe base64
    with session(settings) as db:
        (row,) = db.execute(text("select * from web_sessions")).mappings().all()
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token.encode() not in settings.layout.app_db_path.read_bytes()
    assert row["key_id"] == client_key(settings).id and row["ended_at"] is None


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
        revoke_key(db, key_id=client_key(settings).id)
    response = client.get("/api/session")
    assert response.status_code == 401
    assert "sign in again" in response.json()["detail"]
    with session(settings) as db:
        assert db.scalar(select(WebSession.ended_at)) is not None


def test_an_altered_or_expired_cookie_is_refused(settings: Settings):
    client, _ = signed_in(settings)
    token = client.cookies[COOKIE_NAME]
    client.cookies.set(COOKIE_NAME, token[:-2] + ("BB" if token.endswith("AA") else "AA"))
    assert client.get("/api/session").status_code == 401
    client.cookies.set(COOKIE_NAME, token)
    assert client.get("/api/session").status_code == 200
    # Past its end (session_hours after sign-in) the session is refused.
    with session(settings) as db:
        db.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
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


def test_signing_out_ends_the_session_on_the_server(settings: Settings):
    client, _ = signed_in(settings)
    token = client.cookies[COOKIE_NAME]
    assert client.delete("/api/session").status_code == 204
    assert COOKIE_NAME not in client.cookies
    assert client.get("/api/session").status_code == 401
    # A copy of the cookie kept from before (another tab, a stolen cookie) is dead too.
    client.cookies.set(COOKIE_NAME, token)
    refused = client.get("/api/session")
    assert refused.status_code == 401 and "ended" in refused.json()["detail"]
    with session(settings) as db:
        assert db.scalar(select(WebSession.ended_at)) is not None
    # Signing in again makes a new session; the old token stays dead.
    client.cookies.clear()
    again = client.post("/api/session", json={"api_key": new_key(settings)})
    assert again.status_code == 200 and client.cookies[COOKIE_NAME] != token


@pytest.mark.parametrize("path", ["/health", "/app/", "/api/session"])
def test_every_response_says_how_long_the_app_took(settings: Settings, path: str):
    response = TestClient(create_app()).get(path)
    name, duration = response.headers["server-timing"].split(";dur=")
    assert name == "app" and float(duration) >= 0
