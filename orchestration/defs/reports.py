"""Executive summaries as Dagster assets: one per period kind (weekly, monthly).

Each renders the latest complete period of the business mart as HTML and PDF under
``RINGSIDE_HOME/reports/executive_summary/``. Only complete periods: a partial week
compared with a full one would show a fall that is only the calendar. The job runs
after every successful `ml_scoring` run (so anomalies, churn risk and forecasts are
fresh) and on Monday mornings, when last week has just completed.
"""

from datetime import UTC, datetime, timedelta

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
    define_asset_job,
)

from ringside.core.settings import get_settings
from ringside.reports.collect import collect_inputs, last_data_day
from ringside.reports.periods import PeriodKind, latest_complete
from ringside.reports.render import write_reports
from ringside.reports.summary import build_summary

GROUP = "reports"
DEPS = [
    AssetKey(["warehouse", "mart_business_metrics_daily"]),
    AssetKey(["warehouse", "mart_content_performance_daily"]),
    AssetKey(["ml", "anomalies"]),
    AssetKey(["ml", "forecasts"]),
    AssetKey(["ml", "churn_scores"]),
]


def executive_summary_asset(kind: PeriodKind) -> AssetsDefinition:
    @asset(
        key=AssetKey([GROUP, f"executive_summary_{kind}"]),
        group_name=GROUP,
        deps=DEPS,
        kinds={"html", "pdf"},
        description=f"The {kind} executive summary of the latest complete period: KPIs "
        "against target with growth, revenue and audience trends, top and trending content, "
        "anomalies, churn risk and the 30-day forecast, in plain sentences (HTML and PDF).",
    )
    def executive_summary(context: AssetExecutionContext) -> MaterializeResult:
        settings = get_settings()
        # Without any data yet, the period that ended yesterday (the summary says so).
        last_day = last_data_day(settings) or datetime.now(UTC).date() - timedelta(days=1)
        period = latest_complete(kind, last_day)
        summary = build_summary(period, collect_inputs(settings, period))
        files = write_reports(settings.layout, summary)
        context.log.info(f"{summary.title}: {files.html}, {files.pdf}")
        return MaterializeResult(
            metadata={
                "period": period.label,
                "html": MetadataValue.path(str(files.html)),
                "pdf": MetadataValue.path(str(files.pdf)),
                "summary": MetadataValue.md(
                    "\n".join(f"- {line}" for line in [*summary.sentences, *summary.notes])
                ),
                "kpis": len(summary.kpis),
            }
        )

    return executive_summary


weekly_summary = executive_summary_asset("weekly")
monthly_summary = executive_summary_asset("monthly")

executive_summaries = define_asset_job(
    "executive_summaries", selection=AssetSelection.assets(weekly_summary, monthly_summary)
)

weekly_summaries = ScheduleDefinition(
    job=executive_summaries,
    cron_schedule="0 6 * * 1",  # Mondays 06:00 UTC: last week has just completed
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)


defs = Definitions(
    assets=[weekly_summary, monthly_summary],
    jobs=[executive_summaries],
    schedules=[weekly_summaries],
)
