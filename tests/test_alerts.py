"""Alerts end to end on hand-built frames: rules decide as worked out by hand, the state
machine notifies once per transition, and every notification reaches a real local
webhook receiver and a real local SMTP server (or is recorded as failed and retried)."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance
from pydantic import SecretStr
from sqlalchemy import select

from orchestration.defs.alerts import alerts_evaluation
from ringside.alerts.evaluate import next_state, observe
from ringside.alerts.rules import RuleSpec
from ringside.alerts.service import METRIC_COLUMNS, evaluate_alerts
from ringside.core.appdb import engine_for, session
from ringside.core.appdb.alerts import AlertRule, AlertTransition
from ringside.core.appdb.notifications import NotificationDelivery
from ringside.core.settings import Settings
from tests.postgres import throwaway_database
from tests.receivers import Mailbox, free_port, smtp_server, webhook_receiver

BACKOFF = 0.01


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as found:
        yield found


def alert_settings(home: Path, smtp_port: int = 25, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "home": home,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_from": "alerts@ringside.test",
        "alert_delivery_attempts": 3,
        "alert_delivery_backoff_seconds": BACKOFF,
        "alert_delivery_timeout_seconds": 2,
    }
    return Settings(**(fields | overrides))


def metric_rows(*rows: dict[str, Any]) -> pd.DataFrame:
    """A mart_business_metrics_daily slice: defaults for the columns a test leaves out."""
    defaults = {
        "metric": "new_signups",
        "label": "New signups",
        "unit": "count",
        "grain": "day",
        "dimension": "all",
        "dimension_value": "all",
        "is_complete": True,
    }
    frame = pd.DataFrame([defaults | row for row in rows])
    for column in METRIC_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    return frame[METRIC_COLUMNS]


def add_rule(settings: Settings, **fields: Any) -> int:
    spec = RuleSpec.model_validate(fields)
    with session(settings) as db:
        rule = AlertRule(**spec.model_dump())
        db.add(rule)
        db.flush()
        return rule.id


def transitions(settings: Settings) -> list[AlertTransition]:
    with session(settings) as db:
        return list(db.scalars(select(AlertTransition).order_by(AlertTransition.id)))


def deliveries(settings: Settings) -> list[NotificationDelivery]:
    with session(settings) as db:
        return list(db.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id)))


LOW_SIGNUPS = {
    "name": "signups low",
    "kind": "threshold",
    "subject": "new_signups",
    "params": {"operator": "below", "value": 30},
}
DAY1 = {"period_start": "2026-08-01", "value": 40.0}
DAY2 = {"period_start": "2026-08-02", "value": 25.0}
DAY3 = {"period_start": "2026-08-03", "value": 35.0}
# Not elapsed yet: must never be judged (a partial day would look like a collapse).
PARTIAL = {"period_start": "2026-08-04", "value": 2.0, "is_complete": False}


def test_threshold_rule_fires_once_then_resolves_and_notifies(
    tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    box, smtp_port = mailbox
    settings = alert_settings(tmp_path, smtp_port)
    with webhook_receiver(free_port()) as hooks:
        channels = {
            "webhooks": [
                {"url": hooks.url("/json")},
                {"url": hooks.url("/slack"), "format": "slack"},
            ],
            "email": ["ops@ringside.test", "ceo@ringside.test"],
        }
        rule_id = add_rule(settings, **LOW_SIGNUPS, channels=channels)

        ok = evaluate_alerts(settings, metric_rows(DAY1), anomalies=None)
        assert (ok.fired, ok.resolved, ok.ok) == (0, 0, 1)
        assert transitions(settings) == [] and hooks.received == [] and box.messages == []

        fired = evaluate_alerts(settings, metric_rows(DAY1, DAY2, PARTIAL))
        assert (fired.fired, fired.delivered, fired.failed) == (1, 3, 0)
        for _ in range(2):  # still below 30: no new transition, no new notification
            again = evaluate_alerts(settings, metric_rows(DAY1, DAY2, PARTIAL))
            assert (again.fired, again.firing, again.delivered) == (0, 1, 0)
        assert len(hooks.received) == 2 and len(box.messages) == 1

        resolved = evaluate_alerts(settings, metric_rows(DAY1, DAY2, DAY3, PARTIAL))
        assert (resolved.resolved, resolved.delivered) == (1, 3)
        quiet = evaluate_alerts(settings, metric_rows(DAY1, DAY2, DAY3, PARTIAL))
        assert (quiet.ok, quiet.delivered) == (1, 0)

    history = transitions(settings)
    assert [(t.from_state, t.to_state, t.value, t.period_start) for t in history] == [
        ("ok", "firing", 25.0, date(2026, 8, 2)),
        ("firing", "resolved", 35.0, date(2026, 8, 3)),
    ]
    assert history[0].message == "New signups is 25, below 30 (day of 2026-08-02)"
    assert history[1].message == "New signups is 35, not below 30 (day of 2026-08-03)"

    json_posts = [body for path, body in hooks.received if path == "/json"]
    assert [(b["state"], b["value"], b["rule_id"]) for b in json_posts] == [
        ("firing", 25.0, rule_id),
        ("resolved", 35.0, rule_id),
    ]
    assert json_posts[0]["message"] == history[0].message
    assert [body for path, body in hooks.received if path == "/slack"] == [
        {"text": "[FIRING] signups low: New signups is 25, below 30 (day of 2026-08-02)"},
        {"text": "[RESOLVED] signups low: New signups is 35, not below 30 (day of 2026-08-03)"},
    ]
    recipients = ["ops@ringside.test", "ceo@ringside.test"]
    assert [(to, m["Subject"], m["From"]) for to, m in box.messages] == [
        (recipients, "[FIRING] signups low", "alerts@ringside.test"),
        (recipients, "[RESOLVED] signups low", "alerts@ringside.test"),
    ]
    assert "below 30" in box.messages[0][1].get_payload()
    assert {(d.status, d.attempts) for d in deliveries(settings)} == {("delivered", 1)}


def test_receiver_down_retries_records_failure_then_redelivers(tmp_path: Path) -> None:
    settings = alert_settings(tmp_path, alert_delivery_attempts=4)
    port = free_port()  # nothing listens here yet
    add_rule(settings, **LOW_SIGNUPS, channels={"webhooks": [{"url": f"http://127.0.0.1:{port}/"}]})
    waits: list[float] = []

    down = evaluate_alerts(settings, metric_rows(DAY2), sleep=waits.append)
    assert (down.fired, down.delivered, down.failed) == (1, 0, 1)
    assert waits == [BACKOFF, 2 * BACKOFF, 4 * BACKOFF]  # 4 attempts, 3 waits, doubling
    [failed] = deliveries(settings)
    assert (failed.status, failed.attempts, failed.delivered_at) == ("failed", 4, None)
    assert f"127.0.0.1:{port}" in (failed.last_error or "")

    with webhook_receiver(port) as hooks:
        # Same data: no new transition, but the failed notification goes out now.
        up = evaluate_alerts(settings, metric_rows(DAY2), sleep=waits.append)
        assert (up.fired, up.firing, up.delivered, up.failed) == (0, 1, 1, 0)
        assert [body["state"] for _, body in hooks.received] == ["firing"]
    [delivered] = deliveries(settings)
    assert (delivered.status, delivered.attempts) == ("delivered", 5)
    assert delivered.delivered_at is not None


def test_email_without_smtp_host_is_a_recorded_failure(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, alert_delivery_attempts=2, alert_delivery_backoff_seconds=0)
    add_rule(settings, **LOW_SIGNUPS, channels={"email": ["ops@ringside.test"]})
    summary = evaluate_alerts(settings, metric_rows(DAY2))
    assert (summary.fired, summary.failed) == (1, 1)
    [delivery] = deliveries(settings)
    assert (delivery.channel, delivery.status, delivery.attempts) == ("email", "failed", 2)
    assert delivery.last_error == "email: RINGSIDE_SMTP_HOST is not set"


# Week of 2026-08-03: 312 signups, 380 the week before (the previous period) and 300 in
# the same week last month. Growth: (312 - 380) / 380 = -17.9%; (312 - 300) / 300 = +4%.
SIGNUP_WEEK = metric_rows(
    {
        "grain": "week",
        "period_start": "2026-08-03",
        "value": 312.0,
        "previous_period_value": 380.0,
        "growth_vs_previous_period": (312 - 380) / 380,
        "same_period_last_month_value": 300.0,
        "growth_vs_last_month": (312 - 300) / 300,
    }
)


def change_rule(**params: Any) -> RuleSpec:
    return RuleSpec(name="c", kind="change", subject="new_signups", grain="week", params=params)


def test_change_rules() -> None:
    fell = observe(change_rule(direction="down", percent=15), SIGNUP_WEEK)
    assert fell is not None and fell.firing and fell.value == 312
    assert fell.message == ("New signups fell 18% week over week (312 vs 380; week of 2026-08-03)")
    not_enough = observe(change_rule(direction="down", percent=18), SIGNUP_WEEK)
    assert not_enough is not None and not not_enough.firing  # 17.9% < 18%
    rose = observe(change_rule(direction="up", percent=4, comparison="last_month"), SIGNUP_WEEK)
    assert rose is not None and rose.firing  # +4.0% >= 4%
    assert rose.message.startswith("New signups rose 4% vs the same week last month (312 vs 300")
    # No row for the same week last week: nothing to judge, rather than "ok".
    last_week = change_rule(direction="down", percent=5, comparison="last_week")
    assert observe(last_week, SIGNUP_WEEK) is None
    # A daily rule does not see the weekly row.
    daily = RuleSpec(
        name="d", kind="change", subject="new_signups", params={"direction": "down", "percent": 1}
    )
    assert observe(daily, SIGNUP_WEEK) is None


ANOMALIES = pd.DataFrame(
    {
        "series": ["signups", "signups", "page_views"],
        "date": pd.to_datetime(["2026-08-02", "2026-08-03", "2026-08-03"]),
        "actual": [120.0, 410.0, 10.0],
        "expected": [300.0, 310.0, 900.0],
        "score": [-6.1, 3.4, -9.0],
        "direction": ["drop", "spike", "drop"],
        "severity": ["medium", "low", "high"],
    }
)


def anomaly_rule(**params: Any) -> RuleSpec:
    return RuleSpec(name="a", kind="anomaly", subject="signups", params=params)


@pytest.mark.parametrize(
    ("params", "latest_day", "firing"),
    [
        ({}, "2026-08-03", True),  # the low spike of 08-03
        ({"min_severity": "medium"}, "2026-08-03", False),  # the medium drop is a day old
        ({"direction": "drop"}, "2026-08-03", False),
        ({"min_severity": "medium", "direction": "drop"}, "2026-08-02", True),
        ({"min_severity": "high"}, "2026-08-02", False),  # only page_views is high
        ({}, None, True),  # no metrics: judge the newest anomaly day (08-03)
    ],
)
def test_anomaly_rules(params: dict[str, Any], latest_day: str | None, firing: bool) -> None:
    days = [DAY1 | {"period_start": latest_day}] if latest_day else []
    seen = observe(anomaly_rule(**params), metric_rows(*days), ANOMALIES)
    assert seen is not None and seen.firing is firing


def test_anomaly_message_and_no_output() -> None:
    seen = observe(anomaly_rule(direction="drop"), metric_rows(DAY2), ANOMALIES)
    assert seen is not None and seen.value == 120
    assert seen.message == (
        "Anomaly in signups on 2026-08-02: 120 vs 300 expected (drop, medium severity)"
    )
    assert observe(anomaly_rule(), metric_rows(DAY2), anomalies=None) is None


def test_state_machine() -> None:
    assert next_state("ok", True) == "firing"
    assert next_state("ok", False) is None
    assert next_state("firing", True) is None
    assert next_state("firing", False) == "resolved"
    assert next_state("resolved", True) == "firing"
    assert next_state("resolved", False) is None


def test_lifecycle_on_postgres(tmp_path: Path) -> None:
    with throwaway_database() as name:
        url = SecretStr(f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}")
        settings = alert_settings(tmp_path, app_db_url=url)
        add_rule(settings, **LOW_SIGNUPS)
        states = [
            evaluate_alerts(settings, metric_rows(*days))
            for days in ([DAY1], [DAY1, DAY2], [DAY1, DAY2], [DAY1, DAY2, DAY3])
        ]
        assert [(s.fired, s.firing, s.resolved, s.ok) for s in states] == [
            (0, 0, 0, 1),
            (1, 0, 0, 0),
            (0, 1, 0, 0),
            (0, 0, 1, 0),
        ]
        assert [(t.to_state, t.value) for t in transitions(settings)] == [
            ("firing", 25.0),
            ("resolved", 35.0),
        ]
        assert not settings.layout.app_db_path.exists()
        engine_for(settings).dispose()


def test_job_reads_the_mart_from_the_warehouse(settings: Settings) -> None:
    """The Dagster job over a DuckDB warehouse holding a hand-built mart (RINGSIDE_HOME
    from the `settings` fixture): the incomplete newest day is filtered in SQL."""
    settings.layout.serving_path.parent.mkdir(parents=True)
    mart = metric_rows(DAY1, DAY2, PARTIAL)  # noqa: F841  (read by DuckDB below)
    with duckdb.connect(str(settings.layout.serving_path)) as con:
        con.execute("create table mart_business_metrics_daily as select * from mart")
    add_rule(settings, **LOW_SIGNUPS)
    result = alerts_evaluation.execute_in_process(instance=DagsterInstance.ephemeral())
    summary = result.output_for_node("evaluate_alert_rules")
    assert (summary.fired, summary.ok) == (1, 0)
    assert [(t.to_state, t.period_start) for t in transitions(settings)] == [
        ("firing", date(2026, 8, 2))
    ]
