"""The KPI and alert endpoints over a SQLite application database in a fresh
RINGSIDE_HOME: CRUD, validation errors that name the field, and the history."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from fastapi.testclient import TestClient

from ringside.alerts.service import evaluate_alerts
from ringside.bi.kpis import DEFAULT_KPIS_FILE, export_targets
from ringside.core.settings import Settings
from tests.api_client import api_client
from tests.platforms import platform_environment
from tests.test_alerts import DAY1, DAY2, DAY3, metric_rows

KPIS = "/api/analytics/kpis/"
RULES = "/api/analytics/alerts/rules"
HISTORY = "/api/analytics/alerts/history"


@pytest.fixture
def client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Settings]]:
    # Failing deliveries (no SMTP server here) are retried without waiting.
    monkeypatch.setenv("RINGSIDE_ALERT_DELIVERY_BACKOFF_SECONDS", "0")
    with platform_environment(Settings(home=tmp_path / "home")) as settings:
        yield api_client(role="admin"), settings


def error_locs(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [error["loc"] for error in response.json()["detail"]]


def test_kpis_crud(client: tuple[TestClient, Settings]) -> None:
    api, settings = client
    seeded = {kpi["metric"]: kpi for kpi in api.get(KPIS).json()}
    # As written in ringside/bi/kpis.yml, read here without the code under test.
    config = {kpi["metric"]: kpi for kpi in yaml.safe_load(DEFAULT_KPIS_FILE.read_text())["kpis"]}
    assert set(seeded) == set(config)
    assert seeded["new_signups"]["targets"] == config["new_signups"]["targets"]
    assert seeded["new_signups"]["owner"] == config["new_signups"]["owner"]
    # Each alert_threshold became a daily threshold rule on the metric's bad side.
    bad_when_up = {"subscriber_churn_rate", "subscription_cancellations"}
    assert sorted(
        (r["subject"], r["params"]["operator"], r["params"]["value"]) for r in api.get(RULES).json()
    ) == sorted(
        (m, "above" if m in bad_when_up else "below", k["alert_threshold"])
        for m, k in config.items()
        if k.get("alert_threshold") is not None
    )

    body = {"owner": "product", "tolerance": 0.2, "targets": {"week": 0.25}, "alert_threshold": 0.1}
    put = api.put(f"{KPIS}search_ctr", json=body)
    assert put.status_code == 200
    assert put.json() == {"metric": "search_ctr", **body}
    listed = {kpi["metric"]: kpi for kpi in api.get(KPIS).json()}
    assert listed["search_ctr"]["targets"] == {"week": 0.25}
    assert len(listed) == len(config) + 1

    # The next build's snapshot carries the edit to stg_app__kpi_targets.
    snapshot = export_targets(settings)
    assert snapshot is not None
    rows = [r for r in pq.read_table(snapshot).to_pylist() if r["metric"] == "search_ctr"]
    assert [(r["grain"], r["target"], r["owner"]) for r in rows] == [("week", 0.25, "product")]

    unknown = api.put(f"{KPIS}signups", json={"targets": {"day": 1}})
    assert error_locs(unknown) == [["path", "metric"]]
    assert "new_signups" in unknown.json()["detail"][0]["msg"]
    assert error_locs(api.put(f"{KPIS}dau", json={"targets": {"day": 1}, "tolerance": 2})) == [
        ["body", "tolerance"]
    ]
    assert error_locs(api.put(f"{KPIS}dau", json={"targets": {}})) == [["body", "targets"]]

    assert api.delete(f"{KPIS}search_ctr").status_code == 204
    assert api.delete(f"{KPIS}search_ctr").status_code == 404
    assert "search_ctr" not in {kpi["metric"] for kpi in api.get(KPIS).json()}


RULE = {
    "name": "signups low",
    "kind": "threshold",
    "subject": "new_signups",
    "params": {"operator": "below", "value": 30},
    "channels": {"email": ["ops@ringside.test"]},
}


def test_rules_crud_and_validation(client: tuple[TestClient, Settings]) -> None:
    api, _ = client
    created = api.post(RULES, json=RULE)
    assert created.status_code == 201
    rule = created.json()
    assert rule["state"] == "ok" and rule["grain"] == "day" and rule["enabled"] is True
    assert rule["params"] == {"operator": "below", "value": 30.0}
    assert api.post(RULES, json=RULE).status_code == 409  # the name is taken

    bad_params = api.post(RULES, json=RULE | {"name": "x", "kind": "change"})
    assert error_locs(bad_params) == [["body", "params"]]
    assert "params.direction" in bad_params.json()["detail"][0]["msg"]
    assert error_locs(api.post(RULES, json=RULE | {"name": "x", "subject": "signups"})) == [
        ["body", "subject"]
    ]
    assert error_locs(
        api.post(RULES, json=RULE | {"name": "x", "channels": {"email": ["nobody"]}})
    ) == [["body", "channels", "email"]]
    assert error_locs(api.post(RULES, json=RULE | {"name": "x", "grain": "year"})) == [
        ["body", "grain"]
    ]

    url = f"{RULES}/{rule['id']}"
    patched = api.patch(url, json={"enabled": False, "params": {"operator": "above", "value": 9}})
    assert patched.status_code == 200
    assert (patched.json()["enabled"], patched.json()["params"]["operator"]) == (False, "above")
    assert patched.json()["name"] == "signups low"  # untouched fields stay
    assert error_locs(api.patch(url, json={"kind": "anomaly"})) == [["body", "subject"]]
    assert api.get(url).json()["kind"] == "threshold"  # a rejected patch changes nothing
    assert [r["id"] for r in api.get(RULES).json()] == [rule["id"]]

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert api.patch(url, json={"enabled": True}).status_code == 404
    assert api.get(RULES).json() == []


def test_history_filters(client: tuple[TestClient, Settings]) -> None:
    api, settings = client
    low = api.post(RULES, json=RULE).json()
    high = api.post(
        RULES,
        json=RULE | {"name": "signups high", "params": {"operator": "above", "value": 38}},
    ).json()
    started = datetime.now(UTC)
    # 40 (high fires), 25 (low fires, high resolves), 35 (low resolves).
    for days in ([DAY1], [DAY1, DAY2], [DAY1, DAY2, DAY3]):
        evaluate_alerts(settings, metric_rows(*days))

    everything = api.get(HISTORY).json()
    assert [(t["rule_name"], t["to_state"]) for t in everything] == [
        ("signups low", "resolved"),
        ("signups high", "resolved"),
        ("signups low", "firing"),
        ("signups high", "firing"),
    ]  # newest first (the rules are evaluated in id order)
    # No SMTP server configured: the email deliveries are recorded as failed.
    assert {(d["channel"], d["status"]) for t in everything for d in t["deliveries"]} == {
        ("email", "failed")
    }
    firing_low = api.get(HISTORY, params={"rule": low["id"], "state": "firing"}).json()
    assert [(t["value"], t["period_start"]) for t in firing_low] == [(25.0, "2026-08-02")]
    assert api.get(HISTORY, params={"since": started.isoformat()}).json() == everything
    later = (started + timedelta(hours=1)).isoformat()
    assert api.get(HISTORY, params={"since": later}).json() == []
    assert error_locs(api.get(HISTORY, params={"state": "bad"})) == [["query", "state"]]

    # Deleting a rule keeps its history, detached.
    assert api.delete(f"{RULES}/{high['id']}").status_code == 204
    kept = api.get(HISTORY, params={"state": "resolved"}).json()
    assert [(t["rule_name"], t["rule_id"]) for t in kept] == [
        ("signups low", low["id"]),
        ("signups high", None),
    ]
