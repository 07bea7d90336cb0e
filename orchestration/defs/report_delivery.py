"""Scheduled report delivery: one Dagster schedule per report with a schedule, each
launching the `deliver_report` job for that report (generate the files, send them to
the recipients, log the run: ringside/reports/delivery.py).

The schedules are read from the application database when the code location loads, so
a report whose schedule was added, changed or removed takes effect after a reload of
the code location (Dagster UI: Deployment → Reload, or restart `dagster dev`). A run
launched by a schedule whose report has since lost its schedule does nothing."""

import logging

from dagster import (
    Config,
    DefaultScheduleStatus,
    Definitions,
    Failure,
    OpExecutionContext,
    ScheduleDefinition,
    job,
    op,
)
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ringside.core.appdb import session
from ringside.core.appdb.reports import Report
from ringside.core.settings import Settings, get_settings
from ringside.reports.definition import Schedule
from ringside.reports.delivery import deliver_report as deliver

logger = logging.getLogger(__name__)


class DeliveryConfig(Config):
    report_id: int


@op(description="Generate one report's files and deliver them to its recipients.")
def generate_and_deliver(context: OpExecutionContext, config: DeliveryConfig) -> None:
    run = deliver(get_settings(), config.report_id)
    if run is None:
        context.log.info(f"report {config.report_id} has no schedule any more; nothing sent")
        return
    context.log.info(f"report run {run.id}: {run.status}, {run.rows} rows, files {run.files}")
    if run.status == "failed":
        raise Failure(description=f"report {config.report_id} failed: {run.error}")


@job(description="Generate a saved report and send it to its recipients (email, webhooks).")
def deliver_report() -> None:
    generate_and_deliver()


def report_schedules(settings: Settings) -> list[ScheduleDefinition]:
    """One running schedule per scheduled report, in the report's timezone."""
    try:
        with session(settings) as db:
            # Filtered here: an unscheduled report stores a JSON null, not SQL NULL.
            scheduled = db.execute(select(Report.id, Report.schedule).order_by(Report.id)).all()
    except SQLAlchemyError as exc:
        # The rest of the code location must load when the app DB is unreachable.
        logger.warning("report schedules not loaded: %s", exc)
        return []
    schedules = []
    for report_id, stored in scheduled:
        if stored is None:
            continue
        schedule = Schedule.model_validate(stored)
        schedules.append(
            ScheduleDefinition(
                name=f"report_{report_id}_{schedule.frequency}",
                job=deliver_report,
                cron_schedule=schedule.cron(),
                execution_timezone=schedule.timezone,
                run_config={"ops": {"generate_and_deliver": {"config": {"report_id": report_id}}}},
                default_status=DefaultScheduleStatus.RUNNING,
                description=f"Delivers report {report_id} ({schedule.frequency}).",
            )
        )
    return schedules


defs = Definitions(jobs=[deliver_report], schedules=report_schedules(get_settings()))
