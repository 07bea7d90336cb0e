"""Share links and partner branding over the hand-built business warehouse (the
revenue report of tests/test_report_delivery.py, figures derived there): a link opens
the partner-branded page and the same rows as JSON without a key; a revoked or expired
link answers 410, an unknown one 404; partners are managed by admins."""

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ringside.access.keys import create_key
from ringside.core.appdb import session, utcnow
from ringside.core.appdb.reports import Report, ShareLink
from ringside.core.settings import Settings
from ringside.core.warehouse import data_version, open_reader
from ringside.reports.library import create_report, query_of
from ringside.reports.results import run_report
from tests.api_client import api_client
from tests.test_report_delivery import EXPECTED_ROWS, normalised, revenue_spec, served_home

KEYS = "/api/analytics/keys/"

ACME = {
    "slug": "acme",
    "name": "Acme Media",
    "logo_url": "https://acme.test/logo.png",
    "primary_colour": "#123456",
    "accent_colour": "#abcdef",
    "footer": "Prepared for Acme Media partners",
}


@pytest.fixture
def settings(business_warehouse: Settings, tmp_path: Path) -> Settings:
    return Settings(
        home=served_home(business_warehouse, tmp_path / "home"), public_url="https://rs.test/"
    )


@pytest.fixture
def analyst(settings: Settings) -> TestClient:
    return api_client(settings, "analyst")


@pytest.fixture
def report_id(settings: Settings, analyst: TestClient) -> int:
    """A private report of the analyst key's principal."""
    owner = analyst.get("/api/session").json()["principal_id"]
    with session(settings) as db:
        return create_report(db, owner, revenue_spec(schedule=None)).id


def share(client: TestClient, report_id: int, **body: object) -> dict:
    response = client.post(f"/api/analytics/reports/{report_id}/shares", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_partners_are_listed_by_viewers_and_managed_by_admins(settings: Settings):
    admin, viewer = api_client(settings, "admin"), api_client(settings, "viewer")
    assert viewer.post("/api/analytics/partners/", json=ACME).status_code == 403
    created = admin.post("/api/analytics/partners/", json=ACME)
    assert created.status_code == 201, created.text
    assert admin.post("/api/analytics/partners/", json=ACME).status_code == 409
    bad = admin.post("/api/analytics/partners/", json={**ACME, "slug": "x", "logo_url": "js:1"})
    assert bad.status_code == 422
    partner_id = created.json()["id"]
    changed = admin.patch(f"/api/analytics/partners/{partner_id}", json={"footer": "New footer"})
    assert changed.json()["footer"] == "New footer" and changed.json()["name"] == "Acme Media"
    assert (
        admin.patch(f"/api/analytics/partners/{partner_id}", json={"name": None}).status_code == 422
    )
    listed = viewer.get("/api/analytics/partners/")
    assert [p["slug"] for p in listed.json()] == ["acme"]
    assert admin.delete(f"/api/analytics/partners/{partner_id}").status_code == 204
    assert admin.delete(f"/api/analytics/partners/{partner_id}").status_code == 404
    assert viewer.get("/api/analytics/partners/").json() == []


def test_a_share_link_opens_the_branded_page_and_data_without_a_key(
    settings: Settings, analyst: TestClient, report_id: int
):
    assert (
        api_client(settings, "admin").post("/api/analytics/partners/", json=ACME).status_code == 201
    )
    created = share(analyst, report_id, partner="acme")
    token = created["token"]
    assert created["url"] == f"https://rs.test/shared/{token}" and len(token) >= 43
    assert created["expires_at"] is not None and created["partner"] == "acme"

    public = TestClient(analyst.app)  # no key
    page = public.get(f"/shared/{token}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<h1>Revenue by day</h1>" in html and "2026-01-30 to 2026-02-02" in html
    # The figures as format_value writes dollars (cents below $100), and the partner's
    # name, logo, colour and footer.
    for figure in ("$20.00", "$30.00", "$130", "$290", "$43.20", "$0"):
        assert f">{figure}<" in html
    assert "Acme Media" in html and "Prepared for Acme Media partners" in html
    assert 'src="https://acme.test/logo.png"' in html and "#123456" in html
    assert "<svg" in html and "<polyline" in html

    data = public.get(f"/shared/{token}/data")
    assert data.status_code == 200
    with session(settings) as db, open_reader(settings) as reader:
        query = query_of(db.get_one(Report, report_id))
        expected = run_report(reader, query, data_version(settings))
    assert data.json()["rows"] == expected.model_dump(mode="json")["rows"]
    assert normalised(data.json()["rows"]) == EXPECTED_ROWS

    (listed,) = analyst.get(f"/api/analytics/reports/{report_id}/shares").json()
    assert listed["access_count"] == 2 and listed["active"] and "token" not in listed


def test_without_a_partner_the_page_carries_ringside_branding(
    settings: Settings, analyst: TestClient, report_id: int
):
    token = share(analyst, report_id, expires_in_days=None)["token"]
    html = TestClient(analyst.app).get(f"/shared/{token}").text
    assert "Ringside" in html and "Acme" not in html and "<img" not in html


def test_revoked_expired_and_unknown_links(settings: Settings, analyst: TestClient, report_id: int):
    public = TestClient(analyst.app)
    revoked = share(analyst, report_id)
    response = analyst.delete(f"/api/analytics/reports/{report_id}/shares/{revoked['id']}")
    assert response.status_code == 204
    assert public.get(f"/shared/{revoked['token']}").status_code == 410
    assert public.get(f"/shared/{revoked['token']}/data").status_code == 410

    expired = share(analyst, report_id, expires_in_days=1)
    assert public.get(f"/shared/{expired['token']}").status_code == 200
    with session(settings) as db:
        db.get_one(ShareLink, expired["id"]).expires_at = utcnow() - timedelta(seconds=1)
    assert public.get(f"/shared/{expired['token']}").status_code == 410
    assert public.get(f"/shared/{expired['token']}/data").status_code == 410

    assert public.get("/shared/not-a-token").status_code == 404
    assert public.get("/shared/not-a-token/data").status_code == 404
    missing = analyst.delete(f"/api/analytics/reports/{report_id}/shares/999")
    assert missing.status_code == 404
    listed = analyst.get(f"/api/analytics/reports/{report_id}/shares").json()
    assert [(s["id"], s["active"]) for s in listed] == [
        (expired["id"], False),
        (revoked["id"], False),
    ]


def test_only_who_may_edit_the_report_shares_it(
    settings: Settings, analyst: TestClient, report_id: int
):
    with session(settings) as db:
        _, secret = create_key(db, "analyst", name="bob")
    bob = TestClient(analyst.app, headers={"Authorization": f"Bearer {secret}"})
    # Another analyst does not see the private report; a viewer may not share at all.
    assert bob.post(f"/api/analytics/reports/{report_id}/shares", json={}).status_code == 404
    assert bob.get(f"/api/analytics/reports/{report_id}/shares").status_code == 404
    viewer = api_client(settings, "viewer")
    assert viewer.post(f"/api/analytics/reports/{report_id}/shares", json={}).status_code == 403
    unknown = analyst.post(f"/api/analytics/reports/{report_id}/shares", json={"partner": "nope"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "partner"]


def test_a_link_ends_with_its_creators_access(settings: Settings, report_id: int):
    """Made by the owner's key: it survives a rotation (the principal keeps a key), ends
    when the role drops below sharing (analyst → viewer) or every key is revoked, and
    answers 410 saying why; a link an admin made ends when the admin is demoted."""
    admin = api_client(settings, "admin")
    owner_key = owner_key_of(settings, report_id)
    owner = TestClient(admin.app, headers={"Authorization": f"Bearer {owner_key['secret']}"})
    public = TestClient(admin.app)
    link = share(owner, report_id)
    by_admin = share(admin, report_id)
    assert public.get(f"/shared/{link['token']}").status_code == 200

    # Rotation: a new key for the same principal, the old one revoked: the link lives.
    rotated = admin.post(
        KEYS, json={"principal_id": owner_key["principal_id"], "role": "analyst"}
    ).json()
    assert admin.delete(f"{KEYS}{owner_key['id']}").status_code == 200
    assert public.get(f"/shared/{link['token']}").status_code == 200

    # Role downgrade: a viewer may not share, so the link ends.
    assert admin.patch(f"{KEYS}{rotated['id']}", json={"role": "viewer"}).status_code == 200
    ended = public.get(f"/shared/{link['token']}/data")
    assert ended.status_code == 410 and "may no longer share" in ended.json()["detail"]
    assert public.get(f"/shared/{link['token']}").status_code == 410

    # Revocation of the principal's last key: still ended, even once the role is back.
    assert admin.patch(f"{KEYS}{rotated['id']}", json={"role": "analyst"}).status_code == 200
    assert public.get(f"/shared/{link['token']}").status_code == 200
    assert admin.delete(f"{KEYS}{rotated['id']}").status_code == 200
    assert public.get(f"/shared/{link['token']}").status_code == 410

    # The admin's link lives while the admin is one, not once demoted to analyst (not the
    # owner, so no longer allowed to share this report).
    assert public.get(f"/shared/{by_admin['token']}").status_code == 200
    admin_key = admin.get("/api/session").json()
    (admin_key_id,) = [
        k["id"] for k in admin.get(KEYS).json() if k["principal_id"] == admin_key["principal_id"]
    ]
    root = api_client(settings, "admin")
    assert root.patch(f"{KEYS}{admin_key_id}", json={"role": "analyst"}).status_code == 200
    assert public.get(f"/shared/{by_admin['token']}").status_code == 410
    listed = root.get(f"/api/analytics/reports/{report_id}/shares").json()
    assert [s["active"] for s in listed] == [False, False]


def owner_key_of(settings: Settings, report_id: int) -> dict:
    """A fresh analyst principal made the owner of the report, with its key."""
    with session(settings) as db:
        key, secret = create_key(db, "analyst", name="owner")
        db.get_one(Report, report_id).owner_id = key.principal_id
    return {**key.model_dump(), "secret": secret}
