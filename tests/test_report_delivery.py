"""Scheduled report delivery over the hand-built business warehouse
(tests/test_business_metrics.py derives its figures): a run writes the files and they
reach a real local SMTP server and a real local webhook receiver; a failing webhook is
retried and recorded; a report whose query cannot run records the error and emails its
owner; the Dagster code location carries one schedule per scheduled report.

The report used throughout asks for MRR and total revenue per day, Jan 30 - Feb 2:

    day     MRR  revenue
    01-30    20   130      (10 monthly + 120/12 annual; subscriptions 10 + 120)
    01-31    30   290      (u1 cancels -10, u3 adds 240/12 = 20; 240 + 50 pay-per-view)
    02-01    30    43.2    (40 EUR x 1.08)
    02-02    30     0
"""

import csv
import io
import shutil
from collections.abc import Iterator
from datetime import date, time, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from dagster import Definitions, build_schedule_context
from pypdf import PdfReader
from sqlalchemy import select

from orchestration.defs.report_delivery import deliver_report as deliver_report_job
from orchestration.defs.report_delivery import report_schedules
from ringside.access.keys import active_principal_named, create_key
from ringside.core.appdb import session
from ringside.core.appdb.notifications import NotificationDelivery
from ringside.core.appdb.reports import Report, ShareLink
from ringside.core.settings import Settings, get_settings
from ringside.core.warehouse import data_version, open_reader
from ringside.reports.definition import AbsoluteRange, Recipients, ReportSpec, Schedule
from ringside.reports.delivery import deliver_report
from ringside.reports.library import create_report, query_of
from ringside.reports.results import run_report
from tests.api_client import api_client
from tests.receivers import Mailbox, Webhooks, smtp_server, webhook_receiver

EXPECTED_ROWS = [
    {"period": "2026-01-30", "mrr_usd": 20, "total_revenue_usd": 130},
    {"period": "2026-01-31", "mrr_usd": 30, "total_revenue_usd": 290},
    {"period": "2026-02-01", "mrr_usd": 30, "total_revenue_usd": 43.2},
    {"period": "2026-02-02", "mrr_usd": 30, "total_revenue_usd": 0},
]


def served_home(built: Settings, home: Path) -> Path:
    """A fresh RINGSIDE_HOME serving a copy of `built`'s warehouse (its own app DB and
    report files, so tests do not see each other's reports)."""
    for path in (built.layout.serving_path, built.layout.data_version_path):
        target = home / path.relative_to(built.layout.home)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return home


def revenue_spec(**overrides: Any) -> ReportSpec:
    fields: dict[str, Any] = {
        "name": "Revenue by day",
        "description": "MRR and revenue around the month end.",
        "metrics": ["mrr_usd", "total_revenue_usd"],
        "date_range": AbsoluteRange(start=date(2026, 1, 30), end=date(2026, 2, 2)),
        "grain": "day",
        "sort": [{"field": "period", "direction": "asc"}],
        "schedule": Schedule(frequency="weekly", weekday=0, time=time(8, 0)),
    }
    return ReportSpec(**(fields | overrides))


def add_report(settings: Settings, owner_email: str | None = None, **overrides: Any) -> int:
    """A report owned by analyst "ana" (one principal per settings, made on first use)."""
    with session(settings) as db:
        owner = active_principal_named(db, "ana")
        if owner is None:
            owner = create_key(db, "analyst", name="ana", email=owner_email)[0].principal_id
        return create_report(db, owner, revenue_spec(**overrides)).id


def normalised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with numbers as floats, to compare JSON, CSV and hand-written figures."""
    return [
        {k: v if k == "period" else pytest.approx(float(v)) for k, v in row.items()} for row in rows
    ]


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as found:
        yield found


@pytest.fixture
def hooks() -> Iterator[Webhooks]:
    with webhook_receiver() as found:
        yield found


@pytest.fixture
def settings_for(
    business_warehouse: Settings, tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> Settings:
    return Settings(
        home=served_home(business_warehouse, tmp_path / "home"),
        smtp_host="127.0.0.1",
        smtp_port=mailbox[1],
        smtp_from="reports@ringside.test",
        alert_delivery_attempts=3,
        alert_delivery_backoff_seconds=0,
        alert_delivery_timeout_seconds=2,
        public_url="http://reports.test",
    )


def deliveries(settings: Settings, run_id: int) -> list[NotificationDelivery]:
    with session(settings) as db:
        return list(
            db.scalars(
                select(NotificationDelivery)
                .where(NotificationDelivery.report_run_id == run_id)
                .order_by(NotificationDelivery.id)
            )
        )


def parsed(message: Any) -> EmailMessage:
    """The received message with the modern API (the mailbox keeps compat32 ones)."""
    return message_from_bytes(message.as_bytes(), _class=EmailMessage, policy=policy.default)


def attachments(message: Any) -> dict[str, bytes]:
    return {
        part.get_filename(): part.get_payload(decode=True)
        for part in parsed(message).iter_attachments()
    }


def body_of(message: Any) -> str:
    return parsed(message).get_body(("plain",)).get_content()


def test_scheduled_delivery_reaches_email_and_webhooks(
    settings_for: Settings, mailbox: tuple[Mailbox, int], hooks: Webhooks
):
    settings, (box, _) = settings_for, mailbox
    recipients = Recipients(
        email=["cfo@example.test", "ceo@example.test"],
        webhooks=[{"url": hooks.url("/json")}, {"url": hooks.url("/slack"), "format": "slack"}],
        formats=["csv", "pdf"],
    )
    report_id = add_report(settings, recipients=recipients)

    run = deliver_report(settings, report_id)

    assert run is not None and run.status == "succeeded" and run.error is None
    assert run.rows == 4 and run.data_version == data_version(settings)
    files = [Path(f) for f in run.files]
    assert [f.suffix for f in files] == [".csv", ".pdf"]
    assert all(f.parent == settings.layout.reports_dir / "custom" / str(report_id) for f in files)

    # One message to both recipients, the two files attached.
    ((to, message),) = box.messages
    assert sorted(to) == ["ceo@example.test", "cfo@example.test"]
    assert message["Subject"] == "Revenue by day: 2026-01-30 to 2026-02-02"
    assert message["From"] == "reports@ringside.test"
    attached = attachments(message)
    assert sorted(attached) == sorted(f.name for f in files)
    sent_csv = list(csv.DictReader(io.StringIO(attached[files[0].name].decode())))
    assert normalised(sent_csv) == EXPECTED_ROWS
    pdf_text = "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(attached[files[1].name])).pages
    )
    assert "Revenue by day" in pdf_text and "$290" in pdf_text

    # The webhook gets the rows as run_report gives them; Slack one line of text.
    received = dict(hooks.received)
    with open_reader(settings) as reader:
        result = run_report(reader, query_of_report(settings, report_id), data_version(settings))
    document = received["/json"]
    assert document["rows"] == result.model_dump(mode="json")["rows"]
    assert normalised(document["rows"]) == EXPECTED_ROWS
    assert (document["report_id"], document["run_id"], document["row_count"]) == (
        report_id,
        run.id,
        4,
    )
    assert document["data_version"] == data_version(settings)
    assert document["files"] == [f.name for f in files] and document["link"] is None
    assert received["/slack"] == {
        "text": "Report Revenue by day: 4 rows, 2026-01-30 to 2026-02-02."
    }

    logged = deliveries(settings, run.id)
    assert [(d.channel, d.status, d.attempts) for d in logged] == [
        ("webhook", "delivered", 1),
        ("webhook", "delivered", 1),
        ("email", "delivered", 1),
    ]
    with session(settings) as db:
        report = db.get_one(Report, report_id)
        assert (report.last_status, report.last_error) == ("succeeded", None)
        assert report.last_generated_at == run.finished_at

    # The delivery log through the API.
    log = api_client(settings, "admin").get(f"/api/analytics/reports/{report_id}/runs")
    assert log.status_code == 200, log.text
    (logged_run,) = log.json()
    assert logged_run["status"] == "succeeded" and logged_run["files"] == [f.name for f in files]
    assert [d["status"] for d in logged_run["deliveries"]] == ["delivered"] * 3


def query_of_report(settings: Settings, report_id: int):
    with session(settings) as db:
        return query_of(db.get_one(Report, report_id))


def test_link_mode_sends_a_share_link_that_opens_the_page(
    settings_for: Settings, mailbox: tuple[Mailbox, int]
):
    settings, (box, _) = settings_for, mailbox
    recipients = Recipients(email=["team@example.test"], email_mode="link", formats=["xlsx"])
    report_id = add_report(settings, recipients=recipients)

    run = deliver_report(settings, report_id, trigger="manual")

    assert run is not None and run.status == "succeeded"
    ((_, message),) = box.messages
    assert attachments(message) == {}
    body = body_of(message)
    link = next(word for word in body.split() if word.startswith("http://reports.test/shared/"))
    with session(settings) as db:
        (share,) = db.scalars(select(ShareLink).where(ShareLink.report_id == report_id))
        assert share.expires_at - share.created_at == timedelta(days=settings.report_link_days)
    page = api_client(settings).get(link.removeprefix("http://reports.test"))
    assert page.status_code == 200
    assert "Revenue by day" in page.text and "$43.20" in page.text


def test_deliver_now_through_the_api(settings_for: Settings, hooks: Webhooks):
    """POST …/deliver runs a delivery at once (trigger `manual`, even without a
    schedule) for the report's owner or an admin; the run log shows it."""
    settings = settings_for
    recipients = Recipients(webhooks=[{"url": hooks.url("/now")}], formats=["csv"])
    report_id = add_report(settings, recipients=recipients, schedule=None)
    url = f"/api/analytics/reports/{report_id}/deliver"
    assert api_client(settings, role="viewer").post(url).status_code == 403
    assert api_client(settings, role="analyst").post(url).status_code == 404  # not theirs

    response = api_client(settings, role="admin").post(url)

    assert response.status_code == 200, response.text
    run = response.json()
    assert (run["trigger"], run["status"], run["rows"]) == ("manual", "succeeded", 4)
    assert [(d["channel"], d["status"]) for d in run["deliveries"]] == [("webhook", "delivered")]
    ((path, document),) = hooks.received
    assert path == "/now" and normalised(document["rows"]) == EXPECTED_ROWS
    log = api_client(settings, role="admin").get(f"/api/analytics/reports/{report_id}/runs")
    assert [r["id"] for r in log.json()] == [run["id"]]


def test_failing_webhook_is_retried_and_recorded(settings_for: Settings, hooks: Webhooks):
    settings = settings_for
    recipients = Recipients(webhooks=[{"url": hooks.url("/fail")}], formats=["csv"])
    report_id = add_report(settings, recipients=recipients)
    slept: list[float] = []

    run = deliver_report(settings, report_id, sleep=slept.append)

    # The report itself was generated; only its delivery failed.
    assert run is not None and run.status == "succeeded"
    (delivery,) = deliveries(settings, run.id)
    assert delivery.status == "failed"
    assert delivery.attempts == settings.alert_delivery_attempts == 3
    assert delivery.last_error is not None and "500" in delivery.last_error
    assert [path for path, _ in hooks.received] == ["/fail"] * 3
    assert slept == [0, 0]


def test_failing_query_records_the_error_and_emails_the_owner(
    settings_for: Settings, mailbox: tuple[Mailbox, int], hooks: Webhooks
):
    settings, (box, _) = settings_for, mailbox
    recipients = Recipients(email=["cfo@example.test"], webhooks=[{"url": hooks.url("/json")}])
    report_id = add_report(settings, owner_email="ana@example.test", recipients=recipients)
    with session(settings) as db:
        # A metric the catalog no longer has (renamed after the report was saved).
        report = db.get_one(Report, report_id)
        report.query = {**report.query, "metrics": ["mrr_usd", "retired_metric"]}

    run = deliver_report(settings, report_id)

    assert run is not None and run.status == "failed"
    assert run.error is not None and "retired_metric" in run.error and run.files == []
    with session(settings) as db:
        report = db.get_one(Report, report_id)
        assert (report.last_status, report.last_error) == ("failed", run.error)
    # Only the owner hears of it; the recipients and the webhook get nothing.
    ((to, message),) = box.messages
    assert to == ["ana@example.test"]
    assert message["Subject"] == "[FAILED] report Revenue by day"
    assert "retired_metric" in body_of(message)
    assert hooks.received == []
    ((channel, status),) = [(d.channel, d.status) for d in deliveries(settings, run.id)]
    assert (channel, status) == ("email", "delivered")


def test_missing_warehouse_is_recorded_without_an_owner_address(
    tmp_path: Path, mailbox: tuple[Mailbox, int]
):
    box, port = mailbox
    settings = Settings(home=tmp_path / "empty", smtp_host="127.0.0.1", smtp_port=port)
    # The owner, ana, has no e-mail address.
    report_id = add_report(settings, recipients=Recipients(email=["cfo@example.test"]))

    run = deliver_report(settings, report_id)

    assert run is not None and run.status == "failed"
    assert run.error is not None and run.error.startswith("WarehouseNotBuiltError")
    assert deliveries(settings, run.id) == [] and box.messages == []
    with session(settings) as db:
        assert db.get_one(Report, report_id).last_error == run.error


def test_one_dagster_schedule_per_scheduled_report(
    settings_for: Settings, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
):
    settings = settings_for
    assert report_schedules(settings) == []  # a new, empty app DB loads
    london = add_report(
        settings,
        schedule=Schedule(frequency="daily", time=time(7, 30), timezone="Europe/London"),
        recipients=Recipients(email=["cfo@example.test"], formats=["csv"]),
    )
    new_york = add_report(
        settings,
        schedule=Schedule(
            frequency="weekly", weekday=2, time=time(18, 0), timezone="America/New_York"
        ),
    )
    monthly = add_report(settings, schedule=Schedule(frequency="monthly", day_of_month=15))
    add_report(settings, schedule=None)

    schedules = {s.name: s for s in report_schedules(settings)}

    # cron by hand: minute hour day-of-month month day-of-week (Sunday 0, so Wednesday 3).
    assert {name: (s.cron_schedule, s.execution_timezone) for name, s in schedules.items()} == {
        f"report_{london}_daily": ("30 7 * * *", "Europe/London"),
        f"report_{new_york}_weekly": ("0 18 * * 3", "America/New_York"),
        f"report_{monthly}_monthly": ("0 7 15 * *", "UTC"),
    }
    assert all(s.job_name == "deliver_report" for s in schedules.values())

    # A tick of the London schedule runs the job for that report.
    for name, value in {
        "RINGSIDE_HOME": str(settings.home),
        "RINGSIDE_SMTP_HOST": "127.0.0.1",
        "RINGSIDE_SMTP_PORT": str(settings.smtp_port),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        (request,) = (
            schedules[f"report_{london}_daily"].evaluate_tick(build_schedule_context()).run_requests
        )
        result = deliver_report_job.execute_in_process(run_config=request.run_config)
    finally:
        get_settings.cache_clear()
    assert result.success
    ((to, message),) = mailbox[0].messages
    assert to == ["cfo@example.test"] and message["Subject"].startswith("Revenue by day")


def test_the_code_location_carries_the_delivery_job(definitions: Definitions):
    job = definitions.resolve_job_def("deliver_report")
    assert [node.name for node in job.nodes] == ["generate_and_deliver"]
