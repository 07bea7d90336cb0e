"""Scheduled report delivery: generate a report's files and send them to its
recipients, keeping a log.

Each generation is a `ReportRun`; each message a `NotificationDelivery` pointing at it,
sent with the alerts' `deliver` (retries with backoff, attempts and the last error kept;
one still failing is tried again with the next outstanding alert notifications). Email
carries the files as attachments or, in `link` mode, a share link that expires after
`report_link_days`; webhooks get the rows as JSON. When the report cannot be generated,
the run records why, the report shows it, and its owner is told by email."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from ringside.alerts.notify import deliver
from ringside.core.appdb import session, utcnow
from ringside.core.appdb.access import ApiKey, PrincipalRecord
from ringside.core.appdb.notifications import NotificationDelivery
from ringside.core.appdb.reports import Report, ReportRun
from ringside.core.settings import Settings
from ringside.core.warehouse import data_version, open_reader
from ringside.reports.branding import branding_for
from ringside.reports.compiler import OutputColumn
from ringside.reports.definition import Recipients
from ringside.reports.exports import SUFFIXES, write_export
from ringside.reports.library import ReportNotFoundError, query_of
from ringside.reports.results import ReportResult, run_report
from ringside.reports.sharing import create_share, share_url

# Rows a webhook carries (the files hold them all).
WEBHOOK_ROWS = 1_000


@dataclass(frozen=True)
class Output:
    """What a successful generation produced, for the messages."""

    result: ReportResult
    files: list[Path]
    link: str | None


def deliver_report(
    settings: Settings,
    report_id: int,
    trigger: str = "schedule",
    sleep: Callable[[float], None] = time.sleep,
) -> ReportRun | None:
    """Generate and deliver one report; the finished run (status `succeeded` or
    `failed`), or None when a scheduled trigger finds the report no longer scheduled
    (the Dagster schedule outlives the report's until the code location reloads)."""
    with session(settings) as db:
        report = db.get(Report, report_id)
        if report is None:
            raise ReportNotFoundError(f"no report {report_id}")
        if trigger == "schedule" and report.schedule is None:
            return None
        run = ReportRun(report_id=report.id, report_name=report.name, trigger=trigger)
        db.add(run)
    try:
        output = _generate(settings, report, run)
    # Whatever broke (a definition the catalog no longer accepts, no warehouse yet, SQL
    # or file errors), a scheduled run must say so rather than vanish.
    except Exception as exc:
        deliveries = _record_failure(settings, report, run, f"{type(exc).__name__}: {exc}")
    else:
        deliveries = _record_success(settings, report, run, output)
    for delivery_id in deliveries:
        with session(settings) as db:
            deliver(settings, db.get_one(NotificationDelivery, delivery_id), sleep)
    with session(settings) as db:
        return db.get_one(ReportRun, run.id)


def _generate(settings: Settings, report: Report, run: ReportRun) -> Output:
    version = data_version(settings)
    with open_reader(settings) as reader:
        result = run_report(reader, query_of(report), version)
    columns = [OutputColumn(**column.model_dump()) for column in result.columns]
    recipients = Recipients.model_validate(report.recipients)
    label = f"{run.started_at:%Y%m%dT%H%M%SZ}-run{run.id}"
    with session(settings) as db:
        branding = branding_for(db, report.partner_id)
        link = None
        if recipients.email and recipients.email_mode == "link":
            new = create_share(db, report, report.owner_id, settings.report_link_days)
            link = share_url(settings, new.token)
    subtitle = f"{result.start} to {result.end}" if result.start and result.end else ""
    files = [
        write_export(
            fmt,
            columns,
            _batches(result),
            settings.layout.report_file("custom", str(report.id), label, SUFFIXES[fmt]),
            title=report.name,
            subtitle=subtitle,
            branding=branding,
        )
        for fmt in recipients.formats
    ]
    return Output(result, files, link)


def _batches(result: ReportResult) -> pa.RecordBatchReader:
    table = pa.table(
        {c.name: pa.array([row[c.name] for row in result.rows]) for c in result.columns}
    )
    return table.to_reader()


def _record_success(
    settings: Settings, report: Report, run: ReportRun, output: Output
) -> list[int]:
    result = output.result
    with session(settings) as db:
        run = db.merge(run)
        run.status = "succeeded"
        run.data_version = result.data_version
        run.rows = result.row_count
        run.files = [str(path) for path in output.files]
        run.finished_at = utcnow()
        _mark(db, report.id, run)
        deliveries = _messages(report, run, output)
        db.add_all(deliveries)
        db.flush()
        return [d.id for d in deliveries]


def _record_failure(settings: Settings, report: Report, run: ReportRun, error: str) -> list[int]:
    with session(settings) as db:
        run = db.merge(run)
        run.status = "failed"
        run.error = error
        run.finished_at = utcnow()
        _mark(db, report.id, run)
        # The owner while they hold an active key (a revoked principal is told nothing).
        owner = db.scalar(
            select(PrincipalRecord.email)
            .join(ApiKey, ApiKey.principal_id == PrincipalRecord.id)
            .where(
                PrincipalRecord.id == report.owner_id,
                ApiKey.revoked_at.is_(None),
                PrincipalRecord.email.is_not(None),
            )
            .limit(1)
        )
        if owner is None:
            return []
        delivery = NotificationDelivery(
            report_run_id=run.id,
            channel="email",
            address=owner,
            payload={
                "subject": f"[FAILED] report {report.name}",
                "body": f"Report {report.name!r} (id {report.id}) could not be generated "
                f"at {run.finished_at:%Y-%m-%d %H:%M} UTC:\n\n{error}\n",
            },
        )
        db.add(delivery)
        db.flush()
        return [delivery.id]


def _mark(db: Session, report_id: int, run: ReportRun) -> None:
    report = db.get_one(Report, report_id)
    report.last_generated_at = run.finished_at
    report.last_status = run.status
    report.last_error = run.error


def _messages(report: Report, run: ReportRun, output: Output) -> list[NotificationDelivery]:
    """One email to all recipients and one delivery per webhook."""
    recipients = Recipients.model_validate(report.recipients)
    result = output.result
    period = f"{result.start} to {result.end}" if result.start and result.end else "all dates"
    names = [path.name for path in output.files]
    summary = f"Report {report.name}: {result.row_count:,} rows, {period}."
    document: dict[str, Any] = {
        "report_id": report.id,
        "report": report.name,
        "run_id": run.id,
        "data_version": result.data_version,
        "start": result.start.isoformat() if result.start else None,
        "end": result.end.isoformat() if result.end else None,
        "columns": [column.model_dump() for column in result.columns],
        "rows": result.model_dump(mode="json")["rows"][:WEBHOOK_ROWS],
        "row_count": result.row_count,
        "truncated": result.row_count > WEBHOOK_ROWS,
        "files": names,
        "link": output.link,
    }
    deliveries = [
        NotificationDelivery(
            report_run_id=run.id,
            channel="webhook",
            address=webhook.url,
            payload={"text": summary + (f" {output.link}" if output.link else "")}
            if webhook.format == "slack"
            else document,
        )
        for webhook in recipients.webhooks
    ]
    if recipients.email:
        if output.link:
            body, attachments = f"{summary}\n\nOpen it here: {output.link}\n", []
        else:
            body = f"{summary}\n\nAttached: {', '.join(names)}.\n"
            attachments = [str(path) for path in output.files]
        deliveries.append(
            NotificationDelivery(
                report_run_id=run.id,
                channel="email",
                address=", ".join(recipients.email),
                payload={
                    "subject": f"{report.name}: {period}",
                    "body": (f"{report.description}\n\n" if report.description else "") + body,
                    "attachments": attachments,
                },
            )
        )
    return deliveries
