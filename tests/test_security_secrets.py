"""Secrets of alert rules and reports (issue 21, finding 2): webhook URLs (credentials)
and recipient addresses reach only admins and a report's owner, the application database
keeps them encrypted, and delivery errors and logs never quote them."""

import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, text

from api.main import create_app
from ringside.access.keys import create_key
from ringside.access.roles import Role
from ringside.alerts.service import evaluate_alerts, rule_spec
from ringside.core.appdb import engine_for, session, upgrade
from ringside.core.appdb.alerts import AlertRule
from ringside.core.appdb.engine import alembic_config
from ringside.core.appdb.notifications import NotificationDelivery
from ringside.core.crypto import SecretKeyError, keyring_bound
from ringside.core.settings import Settings, get_settings
from tests.receivers import free_port, webhook_receiver
from tests.test_alerts import DAY2, LOW_SIGNUPS, add_rule, deliveries, metric_rows

RULES = "/api/analytics/alerts/rules"
HISTORY = "/api/analytics/alerts/history"
REPORTS = "/api/analytics/reports/"
# The credential part of the webhook URLs below: what must never show.
ALERT_TOKEN = "s3cr3t-alert-hook"
REPORT_TOKEN = "s3cr3t-report-hook"
SLACK = f"https://hooks.slack.com/services/T0/B0/{REPORT_TOKEN}"
OPS = "ops-lead@ringside.test"
CFO = "cfo@ringside.test"
OWNER_EMAIL = "alice.owner@ringside.test"
Client = Callable[..., TestClient]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # One fast attempt: nothing listens at the alert's webhook, no SMTP server is set.
    return Settings(
        home=tmp_path / "home",
        alert_delivery_attempts=1,
        alert_delivery_backoff_seconds=0,
        alert_delivery_timeout_seconds=2,
    )


@pytest.fixture
def as_key(settings: Settings) -> Client:
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings

    def client(name: str, role: Role, email: str | None = None) -> TestClient:
        with session(settings) as db:
            _, secret = create_key(db, role, name=name, email=email)
        return TestClient(app, headers={"Authorization": f"Bearer {secret}"})

    return client


def body_of(client: TestClient, method: str, path: str) -> str:
    response = client.request(method, path)
    assert response.status_code == 200, response.text
    return response.text


def dump(settings: Settings) -> str:
    """Everything the SQLite application database file holds, as SQL text."""
    with sqlite3.connect(settings.layout.app_db_path) as con:
        return "\n".join(con.iterdump())


@pytest.fixture
def alerting(settings: Settings, as_key: Client) -> tuple[int, str]:
    """A rule (made by an admin) with a webhook and an address that fired: its id and
    webhook URL; both deliveries failed (nothing listens, no SMTP server)."""
    webhook = f"http://127.0.0.1:{free_port()}/services/T0/B0/{ALERT_TOKEN}"
    rule = as_key("root", "admin").post(
        RULES, json=LOW_SIGNUPS | {"channels": {"webhooks": [{"url": webhook}], "email": [OPS]}}
    )
    assert rule.status_code == 201, rule.text
    summary = evaluate_alerts(settings, metric_rows(DAY2))
    assert (summary.fired, summary.failed) == (1, 2)
    return rule.json()["id"], webhook


def test_alert_channels_reach_only_admins(as_key: Client, alerting: tuple[int, str]) -> None:
    rule_id, webhook = alerting
    paths = [RULES, f"{RULES}/{rule_id}", HISTORY]
    for name, role in (("victor", "viewer"), ("bob", "analyst")):
        client = as_key(name, role)
        for path in paths:
            shown = body_of(client, "GET", path)
            assert ALERT_TOKEN not in shown and webhook not in shown and OPS not in shown, path
        # Still recognisable: where it goes, and to how many.
        rule = client.get(f"{RULES}/{rule_id}").json()
        host = webhook.split("/services")[0]
        assert rule["channels"] == {
            "webhooks": [{"url": f"{host}/…", "format": "json"}],
            "email": ["o…@ringside.test"],
        }
        [transition] = client.get(HISTORY).json()
        assert sorted(d["destination"] for d in transition["deliveries"]) == [
            f"{host}/…",
            "o…@ringside.test",
        ]
    admin = as_key("root2", "admin")
    for path in paths:
        shown = body_of(admin, "GET", path)
        assert webhook in shown and OPS in shown, path


def test_report_recipients_reach_only_the_owner_and_admins(
    settings: Settings, as_key: Client
) -> None:
    alice = as_key("alice", "analyst", OWNER_EMAIL)
    recipients = {"webhooks": [{"url": SLACK, "format": "slack"}], "email": [CFO]}
    created = alice.post(
        REPORTS,
        json={
            "name": "Revenue",
            "metrics": ["mrr_usd"],
            "visibility": "public",
            "schedule": {"frequency": "daily"},
            "recipients": recipients,
        },
    )
    assert created.status_code == 201, created.text
    report = f"{REPORTS}{created.json()['id']}"
    # No warehouse here: the run fails and tells the owner by email (not delivered either).
    assert alice.post(f"{report}/deliver").json()["status"] == "failed"
    paths = [REPORTS, report, f"{report}/runs"]
    bob, victor = as_key("bob", "analyst"), as_key("victor", "viewer")
    for client in (bob, victor):
        for path in paths:
            shown = body_of(client, "GET", path)
            for secret in (REPORT_TOKEN, SLACK, CFO, OWNER_EMAIL):
                assert secret not in shown, (path, secret)
        seen = client.get(report).json()["recipients"]
        assert (seen["webhooks"], seen["email"]) == (
            [{"url": "https://hooks.slack.com/…", "format": "slack"}],
            ["c…@ringside.test"],
        )
    # Nor may they write the redacted form back.
    assert bob.patch(report, json={"recipients": seen}).status_code == 403
    for client in (alice, as_key("root", "admin")):
        assert {**recipients, "email_mode": "attachment", "formats": ["pdf"]} == client.get(
            report
        ).json()["recipients"]
    # The owner's delivery log names where the failure notice went, in full.
    assert OWNER_EMAIL in body_of(alice, "GET", f"{report}/runs")
    # The owner's own change keeps what it does not name.
    changed = alice.patch(report, json={"name": "Revenue daily"}).json()
    assert changed["recipients"]["webhooks"] == recipients["webhooks"]


def test_the_database_keeps_webhook_urls_and_recipients_encrypted(
    settings: Settings, as_key: Client, alerting: tuple[int, str]
) -> None:
    alice = as_key("alice", "analyst")
    recipients = {"webhooks": [{"url": SLACK}], "email": [CFO]}
    created = alice.post(
        REPORTS, json={"name": "R", "metrics": ["mrr_usd"], "recipients": recipients}
    )
    assert created.status_code == 201, created.text
    stored = dump(settings)
    for secret in (ALERT_TOKEN, REPORT_TOKEN, "hooks.slack.com", OPS, CFO):
        assert secret not in stored, secret
    # Read back whole where the key is at hand.
    with session(settings) as db:
        [rule] = db.scalars(select(AlertRule).where(AlertRule.name == LOW_SIGNUPS["name"]))
        assert rule_spec(rule).channels.webhooks[0].url == alerting[1]
        addresses = {d.address for d in db.scalars(select(NotificationDelivery))}
    assert addresses == {alerting[1], OPS}


def test_a_failing_webhook_quotes_its_url_neither_in_the_error_nor_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(home=tmp_path, alert_delivery_attempts=1)
    caplog.set_level(logging.DEBUG)
    with webhook_receiver() as hooks:  # /fail... answers 500
        url = hooks.url(f"/fail/T0/B0/{ALERT_TOKEN}")
        add_rule(settings, **LOW_SIGNUPS, channels={"webhooks": [{"url": url}]})
        assert evaluate_alerts(settings, metric_rows(DAY2)).failed == 1
        assert [path for path, _ in hooks.received] == [f"/fail/T0/B0/{ALERT_TOKEN}"]
    [failed] = deliveries(settings)
    assert failed.last_error is not None and "500" in failed.last_error
    assert f"127.0.0.1:{hooks.port}" in failed.last_error  # which receiver, still
    assert ALERT_TOKEN not in failed.last_error
    assert "HTTP Request: POST" in caplog.text  # httpx did log the request...
    assert ALERT_TOKEN not in caplog.text  # ...without the URL's secret part


def test_the_migration_encrypts_plain_rows_and_plain_rows_still_read(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    engine = engine_for(settings)
    command.upgrade(alembic_config(engine), "0002")
    channels = json.dumps({"webhooks": [{"url": SLACK, "format": "slack"}], "email": [OPS]})
    rule_row = (
        "insert into alert_rules (id, name, kind, subject, grain, dimension, dimension_value,"
        " params, channels, enabled, state, created_at, updated_at) values (1, 'legacy',"
        " 'threshold', 'new_signups', 'day', 'all', 'all', '{\"operator\": \"below\","
        " \"value\": 30}', :channels, 1, 'ok', '2026-08-01', '2026-08-01')"
    )
    with engine.begin() as con:
        con.execute(text(rule_row), {"channels": channels})
        con.execute(
            text(
                "insert into alert_transitions (id, rule_id, rule_name, from_state, to_state,"
                " message, created_at) values (7, 1, 'legacy', 'ok', 'firing', 'm', '2026-08-01')"
            )
        )
        con.execute(
            text(
                "insert into notification_deliveries (transition_id, channel, destination,"
                " payload, status, attempts, last_error, created_at) values (7, 'webhook',"
                " :url, '{}', 'failed', 3, :error, '2026-08-01')"
            ),
            {"url": SLACK, "error": f"webhook {SLACK}: Server error for url '{SLACK}'"},
        )

    upgrade(settings)
    assert REPORT_TOKEN not in dump(settings) and OPS not in dump(settings)

    def read() -> tuple[Any, str, str | None]:
        with session(settings) as db:
            delivery = db.scalars(select(NotificationDelivery)).one()
            spec = rule_spec(db.get_one(AlertRule, 1))
            return spec.channels.model_dump(), delivery.address, delivery.last_error

    expected = {"webhooks": [{"url": SLACK, "format": "slack"}], "email": [OPS]}
    found, address, error = read()
    assert (found, address) == (expected, SLACK)
    assert (
        error
        == "webhook https://hooks.slack.com/…: Server error for url 'https://hooks.slack.com/…'"
    )

    # A row still plain (written by a process that had not migrated yet) reads the same.
    with engine.begin() as con:
        con.execute(text("update alert_rules set channels = :channels"), {"channels": channels})
        con.execute(text("update notification_deliveries set destination = :url"), {"url": SLACK})
    assert read()[:2] == (expected, SLACK)

    # Down again (the plain row as well): plain text.
    with session(settings) as db:
        db.get_one(AlertRule, 1).channels = expected | {"email": [CFO]}
    with keyring_bound(settings):
        command.downgrade(alembic_config(engine), "0002")
    assert SLACK in dump(settings) and CFO in dump(settings)


def test_the_key_is_the_setting_else_a_file_made_once(tmp_path: Path) -> None:
    generated = Settings(home=tmp_path)
    rule_id = add_rule(generated, **LOW_SIGNUPS, channels={"webhooks": [{"url": SLACK}]})
    secret_file = generated.layout.secret_key_path
    assert secret_file.stat().st_mode & 0o777 == 0o600

    def url(settings: Settings) -> str:
        with session(settings) as db:
            return str(db.get_one(AlertRule, rule_id).channels["webhooks"][0]["url"])

    configured = Settings(home=tmp_path, secret_key=SecretStr("a configured secret"))
    with pytest.raises(SecretKeyError, match="RINGSIDE_PREVIOUS_SECRET_KEYS"):
        url(configured)
    # Rotation: the former key still opens what it sealed; writes seal with the new one.
    rotated = configured.model_copy(
        update={"previous_secret_keys": [SecretStr(secret_file.read_text())]}
    )
    assert url(rotated) == SLACK
    with session(rotated) as db:
        db.get_one(AlertRule, rule_id).channels = {"webhooks": [{"url": f"{SLACK}-2"}]}
    assert url(configured) == f"{SLACK}-2"
