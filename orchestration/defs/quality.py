"""Data-quality checks as Dagster asset checks: the Great Expectations suites of
ringside/quality on the landed events (the contract's guarantees block the dbt build of
the same run; the quarantine rate and unknown event names are loud but do not block), on
staging and on the marts, and a freshness check on the marts.

Each result carries the failing rows' count, the count per failed expectation and a
sample of failing rows as metadata, shown with the check in the Dagster UI.
"""

import time
import warnings
from collections.abc import Iterator
from datetime import date, timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    DefaultSensorStatus,
    Definitions,
    MetadataValue,
    SupersessionWarning,
    asset_check,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
    multi_asset_check,
)

from orchestration.defs.dbt import ringside_dbt_models
from orchestration.defs.ingestion import RAW_EVENTS_KEY
from orchestration.defs.window import FULL_CHECKS_TAG, tagged_days
from ringside.core import frames
from ringside.core.build_state import BuildState, new_files, oldest_pending_age, target_state
from ringside.core.layout import Layout
from ringside.core.raw_lock import reading_raw
from ringside.core.settings import get_settings
from ringside.core.warehouse import read_frame
from ringside.quality.suites import (
    WAREHOUSE_CHECKS,
    QualitySettings,
    Suite,
    event_suites,
    quarantine_suite,
)
from ringside.quality.validate import SuiteResult, combine, validate

EVENT_SUITES = event_suites(QualitySettings(), get_settings().max_event_ahead_hours)
QUARANTINE_SUITE = quarantine_suite(QualitySettings())
# Marts are rebuilt whenever events land (landed_events_sensor); none rebuilt for a day
# means ingestion or the builds stopped (the hour on top leaves room for a long build).
MART_FRESHNESS = timedelta(hours=25)
# The product's promise: events are in the marts within 5 minutes of landing.
BUILD_LAG = timedelta(minutes=5)


def warehouse_key(table: str) -> AssetKey:
    return AssetKey(["warehouse", table])


def check_spec(asset_key: AssetKey, suite: Suite) -> AssetCheckSpec:
    return AssetCheckSpec(
        name=suite.name, asset=asset_key, description=suite.description, blocking=suite.blocking
    )


def check_result(
    asset_key: AssetKey, suite: Suite, result: SuiteResult, days: list[date] | None
) -> AssetCheckResult:
    metadata = {
        "rows_checked": result.rows,
        "failing_rows": result.failing_rows,
        "failing_rows_by_expectation": MetadataValue.json(result.failures),
        "failing_rows_sample": MetadataValue.json(result.sample),
    }
    if result.errors:
        metadata["expectation_errors"] = MetadataValue.json(result.errors)
    if days is not None:
        metadata["days"] = ", ".join(
            first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
            for first, last in frames.day_ranges(days, longest=len(days) or 1)
        )
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=suite.name,
        passed=result.passed,
        severity=AssetCheckSeverity.WARN if suite.severity == "warn" else AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


def full_checks(context: AssetCheckExecutionContext) -> bool:
    """Whether the run is the daily full check (whole tables, every landed file)."""
    return context.op_execution_context.run.tags.get(FULL_CHECKS_TAG) == "true"


def checked_days(context: AssetCheckExecutionContext, layout: Layout) -> list[date]:
    """The event days of the run (orchestration/defs/window.py), or the newest landed
    day when the check runs on its own; none when nothing has landed."""
    tagged = tagged_days(context.op_execution_context.run)
    if tagged is not None:
        return tagged
    landed = sorted(layout.landed_event_files())
    return landed[-1:]


@multi_asset_check(
    specs=[check_spec(RAW_EVENTS_KEY, suite) for suite in (*EVENT_SUITES, QUARANTINE_SUITE)],
    description="Great Expectations suites over the run's landed events.",
    compute_kind="great_expectations",
)
def landed_events_quality(context: AssetCheckExecutionContext) -> Iterator[AssetCheckResult]:
    settings = get_settings()
    layout = settings.layout
    # The files listed stay in place until the checks read them (compaction).
    with reading_raw(layout):
        days = checked_days(context, layout)
        full = full_checks(context)
        # The files the run's build reads (it runs before dbt: blocking suites), not every
        # file of their days: a micro-batch checks its own few thousand events. The daily
        # full check reads every landed file.
        built = BuildState() if full else target_state(settings)
        # A day at a time: a run over every landed day (`ringside build --all`) must not
        # hold all events in memory at once (a week of 1M events a day peaked at 10 GiB).
        results: dict[str, list[SuiteResult]] = {suite.name: [] for suite in EVENT_SUITES}
        for first_day, last_day in frames.day_ranges(days, longest=1):
            day = frames.days_between(first_day, last_day)  # empty when there are no days
            events = frames.landed_events(new_files(layout, day, built))
            for suite in EVENT_SUITES:
                results[suite.name].append(validate(events, suite))
        for suite in EVENT_SUITES:
            yield check_result(RAW_EVENTS_KEY, suite, combine(results[suite.name]), days)
        rates = frames.quarantine_rates(layout, days)
        quarantine = validate(rates, QUARANTINE_SUITE)
        yield check_result(RAW_EVENTS_KEY, QUARANTINE_SUITE, quarantine, days)


@multi_asset_check(
    specs=[check_spec(warehouse_key(check.table), check.suite) for check in WAREHOUSE_CHECKS],
    description="Great Expectations suites over staging and the marts, after dbt built them.",
    compute_kind="great_expectations",
)
def warehouse_quality(context: AssetCheckExecutionContext) -> Iterator[AssetCheckResult]:
    settings = get_settings()
    days = checked_days(context, settings.layout)
    full = full_checks(context)
    if full:
        days = sorted(settings.layout.landed_event_files())
    for check in WAREHOUSE_CHECKS:
        # Staging and sessions: the rows the build wrote, or in the daily full check
        # every day, a week at a time; the marts (days x dimensions, small) whole.
        if not check.by_day:
            queries = [check.sql]
        elif full:
            queries = [check.query(*part) for part in frames.day_ranges(days)]
        else:
            queries = [check.built_rows_query()]
        result = combine([validate(read_frame(settings, sql), check.suite) for sql in queries])
        yield check_result(
            warehouse_key(check.table), check.suite, result, days if check.by_day else None
        )


@asset_check(
    asset=warehouse_key("mart_overview_daily"),
    name="landed_events_built_within_5_minutes",
    description="After each build: no landed event file has waited more than 5 minutes "
    "for the marts (files landing during a build wait for the next one).",
)
def build_lag(context: AssetCheckExecutionContext) -> AssetCheckResult:
    waited = oldest_pending_age(get_settings(), time.time())
    return AssetCheckResult(
        passed=waited <= BUILD_LAG.total_seconds(),
        severity=AssetCheckSeverity.WARN,
        metadata={"oldest_unbuilt_file_waited_seconds": round(waited, 1)},
    )


# Dagster 1.13 supersedes these builders with FreshnessPolicy on the asset specs; that
# belongs in the dbt translator (orchestration/defs/dbt.py), so until it moves there the
# checks are built here, where they need no change to the dbt assets.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SupersessionWarning)
    mart_freshness_checks = build_last_update_freshness_checks(
        assets=sorted(key for key in ringside_dbt_models.keys if key.path[-1].startswith("mart_")),
        lower_bound_delta=MART_FRESHNESS,
    )
    mart_freshness_sensor = build_sensor_for_freshness_checks(
        freshness_checks=mart_freshness_checks, default_status=DefaultSensorStatus.RUNNING
    )

defs = Definitions(
    asset_checks=[landed_events_quality, warehouse_quality, build_lag, *mart_freshness_checks],
    sensors=[mart_freshness_sensor],
)
