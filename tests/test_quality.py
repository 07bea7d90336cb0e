"""Data-quality checks: each expectation on small hand-made frames with hand-derived
answers, then the Dagster asset checks on a real generated platform — all pass on clean
data, and a file of bad events fails the matching checks and stops the dbt build."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import AssetCheckSeverity, DagsterEventType, DagsterInstance

from ingestion.batch import IngestReport, ingest_paths
from ingestion.schema import RAW_EVENT_SCHEMA
from orchestration.runner import BuildError, landed_days, run_build
from ringside.core.files import unique_name, write_table
from ringside.core.frames import day_ranges
from ringside.core.settings import Settings
from ringside.core.warehouse import read_frame
from ringside.quality.suites import (
    WAREHOUSE_CHECKS,
    QualitySettings,
    Suite,
    event_suites,
    quarantine_suite,
)
from ringside.quality.validate import combine, validate
from tests.platforms import BuiltPlatform, built_platform

THRESHOLDS = QualitySettings(max_quarantine_rate=0.05, quarantine_min_received=100)
EVENT_SUITES = {suite.name: suite for suite in event_suites(THRESHOLDS, ahead_hours=24)}


def warehouse_suite(table: str, name: str) -> Suite:
    return next(c.suite for c in WAREHOUSE_CHECKS if c.table == table and c.suite.name == name)


# -- each expectation on hand-made frames --------------------------------------------------


def test_required_fields_flag_each_missing_field_once_per_row():
    frame = pd.DataFrame(
        {
            "message_id": ["ok", "track-no-name", "no-ids", "alias-no-previous", "page-no-name"],
            "type": ["track", "track", "page", "alias", "page"],
            "event": ["Signed Up", None, None, None, None],
            "previous_id": [None, None, None, None, None],
            "event_time": pd.to_datetime(["2026-08-01"] * 5),
            "received_at": pd.to_datetime(["2026-08-01"] * 5),
            "user_or_anonymous_id": ["a", "a", None, "u", "a"],
        }
    )
    result = validate(frame, EVENT_SUITES["required_fields_present"])
    # A page needs no event name and only an alias needs a previous id.
    assert not result.passed and result.failing_rows == 3
    assert result.failures == {
        "expect_column_values_to_not_be_null(column=event)": 1,
        "expect_column_values_to_not_be_null(column=user_or_anonymous_id)": 1,
        "expect_column_values_to_not_be_null(column=previous_id)": 1,
    }
    assert [row["message_id"] for row in result.sample] == [
        "track-no-name",
        "no-ids",
        "alias-no-previous",
    ]


def test_event_time_may_lead_arrival_by_the_skew_allowance_and_no_more():
    day = 24 * 3600
    frame = pd.DataFrame({"seconds_ahead_of_receipt": [-3600, 0, day, day + 1, 3 * day]})
    result = validate(frame, EVENT_SUITES["event_time_not_in_future"])
    assert result.failing_rows == 2
    assert [row["seconds_ahead_of_receipt"] for row in result.sample] == [day + 1, 3 * day]


def test_event_types_and_track_names_against_the_tracking_plan():
    frame = pd.DataFrame(
        {
            "type": ["track", "page", "click", "identify"],
            "track_event": ["Signed Up", None, None, "Fight Predicted"],
        }
    )
    types = validate(frame, EVENT_SUITES["event_types_in_tracking_plan"])
    assert types.failing_rows == 1 and types.sample[0]["type"] == "click"
    names = EVENT_SUITES["track_events_in_tracking_plan"]
    # Non-track rows carry no name (null) and are not judged; the unknown name warns.
    assert validate(frame, names).failing_rows == 1
    assert names.severity == "warn" and not names.blocking
    assert all(s.blocking for n, s in EVENT_SUITES.items() if n != names.name)


def test_quarantine_rate_is_judged_only_on_days_with_enough_arrivals():
    frame = pd.DataFrame(
        {
            "ingested_date": ["2026-08-01", "2026-08-02", "2026-08-03", "2026-08-04"],
            "received": [1000, 50, 200, 100],
            "quarantine_rate": [0.05, 0.5, 0.06, 0.0],
        }
    )
    # 5 % is allowed, 6 % over 200 arrivals is not; 50 % of 50 arrivals is not judged.
    result = validate(frame, quarantine_suite(THRESHOLDS))
    assert result.failing_rows == 1 and result.sample[0]["ingested_date"] == "2026-08-03"


def test_active_users_nested_and_stickiness_a_rate():
    frame = pd.DataFrame(
        {
            "daily_active_users": [1, 3, 1, 1, 2],
            "weekly_active_users": [2, 2, 4, 1, 2],
            "monthly_active_users": [3, 5, 3, 1, 2],
            "stickiness": [0.5, 0.2, 0.1, 1.2, 1.0],
        }
    )
    result = validate(frame, warehouse_suite("mart_active_users_daily", "dau_wau_mau_nested"))
    assert result.failing_rows == 3  # DAU > WAU, WAU > MAU, stickiness > 1
    assert len(result.failures) == 3


def test_retention_period_zero_is_the_whole_cohort():
    frame = pd.DataFrame({"retention_rate": [1.0, 0.98, None, 1.0]})
    suite = warehouse_suite("mart_cohort_retention", "period_zero_is_whole_cohort")
    assert validate(frame, suite).failing_rows == 2


def test_negative_duration_and_revenue_fail():
    frame = pd.DataFrame(
        {"duration_seconds": [0, 30, -1, 5], "revenue_usd": [0.0, 9.99, 0.0, -9.99]}
    )
    suite = warehouse_suite("fct_sessions", "no_negative_duration_or_revenue")
    assert validate(frame, suite).failing_rows == 2


def test_a_missing_column_is_an_error_not_a_pass():
    result = validate(
        pd.DataFrame({"other": [1]}), warehouse_suite("dim_users", "rates_and_amounts_valid")
    )
    assert not result.passed and result.failing_rows == 0
    assert list(result.errors) == ["expect_column_values_to_be_between(column=revenue_usd)"]


def test_funnel_steps_read_from_a_duckdb_warehouse(tmp_path: Path):
    """The funnel check's SQL (previous step by window function) on a real DuckDB file,
    read through read_frame: step 3 has more users than step 2 in one slice only."""
    settings = Settings(home=tmp_path)
    settings.layout.serving_path.parent.mkdir(parents=True)
    rows = [
        # funnel, day, breakdown value, step, users
        ("signup", "2026-08-01", "all", 1, 100),
        ("signup", "2026-08-01", "all", 2, 60),
        ("signup", "2026-08-01", "all", 3, 60),
        ("signup", "2026-08-01", "mobile", 1, 40),
        ("signup", "2026-08-01", "mobile", 2, 10),
        ("signup", "2026-08-01", "mobile", 3, 12),
        ("signup", "2026-08-02", "all", 1, 5),
    ]
    with duckdb.connect(str(settings.layout.serving_path)) as con:
        con.execute(
            "create table mart_funnel_daily (funnel_name varchar, entry_date date, "
            "breakdown varchar, breakdown_value varchar, step_number int, users int, "
            "conversion_from_start double, conversion_from_previous double, "
            "drop_off_rate double)"
        )
        con.executemany(
            "insert into mart_funnel_daily values (?, ?, 'device_type', ?, ?, ?, 0.5, 0.5, 0.5)",
            rows,
        )
    check = next(c for c in WAREHOUSE_CHECKS if c.table == "mart_funnel_daily")
    assert not check.by_day  # a small mart: checked whole
    result = validate(read_frame(settings, check.sql), check.suite)
    assert result.failing_rows == 1
    assert {k: result.sample[0][k] for k in ("breakdown_value", "step_number")} == {
        "breakdown_value": "mobile",
        "step_number": 3,
    }


def test_runs_are_checked_a_week_at_a_time_and_the_parts_combined():
    days = [date(2026, 8, d) for d in (*range(1, 17), 20, 21)]
    assert day_ranges(days) == [
        (date(2026, 8, 1), date(2026, 8, 7)),
        (date(2026, 8, 8), date(2026, 8, 14)),
        (date(2026, 8, 15), date(2026, 8, 16)),
        (date(2026, 8, 20), date(2026, 8, 21)),  # a gap starts a new range
    ]
    assert day_ranges([date(2026, 8, 1)]) == [(date(2026, 8, 1),) * 2]
    assert day_ranges([]) == [(date.max, date.min)]  # runs once, on no rows
    suite = EVENT_SUITES["event_types_in_tracking_plan"]
    parts = [
        validate(pd.DataFrame({"type": ["page", "click"]}), suite),
        validate(pd.DataFrame({"type": pd.Series([], dtype=str)}), suite),
        validate(pd.DataFrame({"type": ["tap", "tap", "track"]}), suite),
    ]
    result = combine(parts)
    assert (result.rows, result.failing_rows) == (5, 3)
    assert [row["type"] for row in result.sample] == ["click", "tap", "tap"]
    assert result.failures == {"expect_column_values_to_be_in_set(column=type)": 3}


# -- the asset checks on a generated platform ------------------------------------------------

OUR_CHECKS = {
    ("tracking/events", s.name) for s in (*EVENT_SUITES.values(), quarantine_suite(THRESHOLDS))
} | {(f"warehouse/{c.table}", c.suite.name) for c in WAREHOUSE_CHECKS}


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    severity: AssetCheckSeverity
    metadata: dict[str, object]


def last_run(settings: Settings) -> tuple[dict[tuple[str, str], CheckOutcome], set[str]]:
    """Check evaluations and materialized asset keys of the newest run."""
    with DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        checks = {}
        for record in instance.all_logs(
            run.run_id, of_type={DagsterEventType.ASSET_CHECK_EVALUATION}
        ):
            data = record.dagster_event.event_specific_data
            checks[(data.asset_key.to_user_string(), data.check_name)] = CheckOutcome(
                data.passed, data.severity, {k: v.value for k, v in data.metadata.items()}
            )
        materialized = {
            record.dagster_event.event_specific_data.materialization.asset_key.to_user_string()
            for record in instance.all_logs(
                run.run_id, of_type={DagsterEventType.ASSET_MATERIALIZATION}
            )
        }
    return checks, materialized


def landed_events(platform: BuiltPlatform) -> int:
    return sum(f.accepted for f in platform.report.files if f.kind == "events")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltPlatform]:
    with built_platform(tmp_path_factory.mktemp("quality"), days=3, users=100, seed=5) as built:
        yield built


def test_clean_platform_passes_every_quality_check(platform: BuiltPlatform):
    checks, materialized = last_run(platform.settings)
    ours = {key: checks[key] for key in OUR_CHECKS}
    failed = {key: o.metadata for key, o in ours.items() if not o.passed}
    assert not failed
    assert ours[("tracking/events", "required_fields_present")].metadata[
        "rows_checked"
    ] == landed_events(platform)
    assert "warehouse/mart_active_users_daily" in materialized
    freshness = {key for key in checks if key[1] == "freshness_check"}
    assert ("warehouse/mart_funnel_daily", "freshness_check") in freshness
    assert all(checks[key].passed for key in freshness)
    # Everything landed was built: nothing has waited for the marts.
    lag = checks[("warehouse/mart_overview_daily", "landed_events_built_within_5_minutes")]
    assert lag.passed and lag.metadata["oldest_unbuilt_file_waited_seconds"] == 0


def bad_events(skewed: int, unknown_names: int, invalid: int) -> list[dict[str, object]]:
    """Bad input: times three days after arrival (no sentAt, so no skew correction;
    quarantined by the accepted window), track names outside the plan (landed, flagged)
    and lines without any id (quarantined)."""
    received = "2026-08-02T10:00:00Z"
    events: list[dict[str, object]] = []
    for n in range(skewed):
        events.append(
            {
                "messageId": f"future-{n}",
                "type": "page",
                "anonymousId": f"bad-{n}",
                "timestamp": "2026-08-05T10:00:00Z",
                "receivedAt": received,
            }
        )
    for n in range(unknown_names):
        events.append(
            {
                "messageId": f"unknown-{n}",
                "type": "track",
                "event": "Fight Predicted",
                "anonymousId": f"bad-{n}",
                "timestamp": received,
                "receivedAt": received,
            }
        )
    for n in range(invalid):
        events.append({"messageId": f"no-id-{n}", "type": "page", "timestamp": received})
    return events


def test_bad_input_fails_its_checks_and_the_valid_events_are_built_all_the_same(
    platform: BuiltPlatform, tmp_path: Path
):
    clean_quarantined = platform.report.quarantined
    path = tmp_path / "bad-events.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in bad_events(30, 4, 100)) + "\n")
    report: IngestReport = ingest_paths([path], platform.settings.layout, platform.settings)
    # Times three days after their arrival are outside the accepted window: quarantined.
    assert (report.accepted, report.quarantined) == (4, 130)
    assert report.files[0].quarantined_by_field == {"timestamp": 30, "anonymousId": 100}

    run_build(landed_days(platform.settings.layout))  # nothing blocks
    checks, materialized = last_run(platform.settings)
    assert checks[("tracking/events", "event_time_not_in_future")].passed
    assert checks[("tracking/events", "required_fields_present")].passed

    # Everything was ingested today: 130 + the clean platform's rejects of all arrivals.
    rate = checks[("tracking/events", "quarantine_rate_below_threshold")]
    arrivals = landed_events(platform) + 4 + clean_quarantined + 130
    assert not rate.passed and rate.severity == AssetCheckSeverity.ERROR
    assert rate.metadata["failing_rows"] == 1
    assert rate.metadata["failing_rows_sample"][0]["quarantine_rate"] == pytest.approx(
        (clean_quarantined + 130) / arrivals
    )
    names = checks[("tracking/events", "track_events_in_tracking_plan")]
    assert not names.passed and names.severity == AssetCheckSeverity.WARN
    assert names.metadata["failing_rows"] == 4
    assert "warehouse/mart_active_users_daily" in materialized


def test_a_landed_file_breaking_the_contract_stops_the_dbt_build(platform: BuiltPlatform):
    """The blocking checks guard what ingestion guarantees: only a file written around
    the collector and the loader (a bug, a hand-copied file) can fail them."""
    layout = platform.settings.layout
    day, files = next(iter(layout.landed_event_files().items()))
    row = pq.read_table(files[0]).slice(0, 1).to_pylist()[0]
    row |= {"message_id": "hand-copied", "event_time": row["received_at"] + timedelta(days=3)}
    table = pa.Table.from_pylist([row], schema=RAW_EVENT_SCHEMA)
    write_table(table, layout.raw_events_partition(day), unique_name("hand"))

    with pytest.raises(BuildError, match="event_time_not_in_future"):
        run_build(landed_days(layout))
    checks, materialized = last_run(platform.settings)
    future = checks[("tracking/events", "event_time_not_in_future")]
    assert not future.passed and future.severity == AssetCheckSeverity.ERROR
    assert future.metadata["failing_rows"] == 1
    assert future.metadata["failing_rows_sample"][0]["message_id"] == "hand-copied"
    # The failing blocking check stopped the dbt models (and the checks after them).
    assert materialized == {"tracking/events"}
    assert not any(key.startswith("warehouse/") for key, _ in checks)
