"""Security review findings (issue 21): formula injection in CSV and XLSX exports, a
retried message counted twice by the real-time route, and timestamps in API responses
that must carry their offset (UTC as `Z`). Every expectation is derived by hand from the
small inputs built here."""

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from openpyxl.cell import Cell
from pydantic import BaseModel

from orchestration.defs.ml.common import now as ml_now
from ringside.access.keys import create_key
from ringside.alerts.service import evaluate_alerts
from ringside.core.appdb import session
from ringside.core.ml_store import ModelRecord, new_version, save_model, write_output
from ringside.core.pipeline_health import BuildAttempt, FailedNode, record_attempt
from ringside.core.settings import Settings
from ringside.core.timestamps import UtcDateTime
from ringside.reports.definition import AbsoluteRange, Recipients, ReportSpec
from ringside.reports.delivery import deliver_report
from ringside.reports.exports import export_chunks
from ringside.reports.library import create_report
from tests.api_client import api_client
from tests.test_alerts import DAY1, DAY2, metric_rows
from tests.test_business_metrics import FIRST_DAY, LAST_DAY
from tests.test_report_delivery import served_home

# --- 1. Formula injection ---------------------------------------------------------------

# Titles as tracked: each OWASP prefix, then text that only contains those characters
# later on (safe), and a plain title.
DANGEROUS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
]
SAFE = ["Match report: 3-1 win", "a=b+c", "Highlights"]
TITLES = DANGEROUS + SAFE
# What a spreadsheet must show for each title in CSV: the dangerous ones behind a quote.
CSV_TITLES = [f"'{title}" for title in DANGEROUS] + SAFE
# A number column with negatives: numbers are never escaped.
SCORES = [-1.5, 2.0, -3.0, 0.0, 4.25, -0.5, 1.0, -7.0, 3.5]
DAY = date(2026, 3, 2)
SPAN = {"start": DAY.isoformat(), "end": DAY.isoformat()}


def assert_xlsx_text(cell: Cell, title: str) -> None:
    """The cell holds the title, as text; a dangerous one keeps Excel's quote prefix
    so editing the cell does not turn it into a formula either. (A carriage return
    reads back as a line feed: XML normalises line ends in the sheet's text.)"""
    assert cell.value == title.replace("\r", "\n")
    assert cell.data_type == "s"
    assert cell.quotePrefix == (title in DANGEROUS)


def test_the_exporter_escapes_text_cells_only(tmp_path: Path) -> None:
    strings = pa.array(TITLES)
    table = pa.table(
        {
            "title": strings,
            "large": strings.cast(pa.large_string()),
            "coded": strings.dictionary_encode(),
            "score": pa.array(SCORES),
            "delta": pa.array([-1, 2, -3, 0, 4, -5, 6, -7, 8], pa.int64()),
        }
    )

    def export(fmt: str) -> bytes:
        return b"".join(export_chunks(fmt, [], table.to_reader(max_chunksize=4), title="t"))

    rows = list(csv.reader(io.StringIO(export("csv").decode(), newline="")))
    assert rows[0] == ["title", "large", "coded", "score", "delta"]
    assert [row[:3] for row in rows[1:]] == [[title] * 3 for title in CSV_TITLES]
    assert [float(row[3]) for row in rows[1:]] == SCORES
    assert [int(row[4]) for row in rows[1:]] == [-1, 2, -3, 0, 4, -5, 6, -7, 8]

    sheet = openpyxl.load_workbook(io.BytesIO(export("xlsx"))).active
    body = list(sheet.iter_rows(min_row=2))
    assert len(body) == len(TITLES)
    for row, title, score in zip(body, TITLES, SCORES, strict=True):
        for cell in row[:3]:
            assert_xlsx_text(cell, title)
        assert (row[3].value, row[3].data_type) == (score, "n")
        assert row[4].data_type == "n"
    assert [row[4].value for row in body] == [-1, 2, -3, 0, 4, -5, 6, -7, 8]


@pytest.fixture
def tracked_titles(tmp_path: Path) -> Settings:
    """A served warehouse whose content mart holds the tracked titles, one item each,
    viewed 10 + i times on DAY."""
    settings = Settings(home=tmp_path / "home")
    settings.layout.serving_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.layout.serving_path)) as con:
        con.execute(
            "create table mart_content_performance_daily (activity_date date, "
            "content_id varchar, content_type varchar, title varchar, views bigint, "
            "trending_score double)"
        )
        con.executemany(
            "insert into mart_content_performance_daily values (?, ?, 'video', ?, ?, ?)",
            [
                (DAY, f"c{i}", title, 10 + i, score)
                for i, (title, score) in enumerate(zip(TITLES, SCORES, strict=True))
            ],
        )
    return settings


def views_by_title() -> ReportSpec:
    return ReportSpec(
        name="Views by title",
        metrics=["content.views"],
        dimensions=["title"],
        date_range=AbsoluteRange(start=DAY, end=DAY),
        sort=[{"field": "views", "direction": "asc"}],
        recipients=Recipients(formats=["csv", "xlsx"]),
    )


def check_report_files(csv_bytes: bytes, xlsx_bytes: bytes) -> None:
    """A report's files: period, title, views ascending (10, 11, ...: the titles in
    order)."""
    rows = list(csv.DictReader(io.StringIO(csv_bytes.decode(), newline="")))
    assert [row["title"] for row in rows] == CSV_TITLES
    assert [int(row["views"]) for row in rows] == list(range(10, 10 + len(TITLES)))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes)).active
    body = list(sheet.iter_rows(min_row=2))
    for row, title in zip(body, TITLES, strict=True):
        assert_xlsx_text(row[1], title)
    assert [row[2].value for row in body] == list(range(10, 10 + len(TITLES)))


def test_mart_and_report_exports_through_the_api_are_escaped(tracked_titles: Settings) -> None:
    analyst = api_client(tracked_titles, "analyst")

    def download(fmt: str, **params: object) -> bytes:
        response = analyst.get("/api/analytics/export/", params={**params, "format": fmt})
        assert response.status_code == 200, response.text
        return response.content

    mart_csv = download("csv", mart="content", **SPAN)
    rows = list(csv.DictReader(io.StringIO(mart_csv.decode(), newline="")))
    assert [row["title"] for row in rows] == CSV_TITLES
    assert [float(row["trending_score"]) for row in rows] == SCORES
    assert {row["content_type"] for row in rows} == {"video"}
    sheet = openpyxl.load_workbook(io.BytesIO(download("xlsx", mart="content", **SPAN))).active
    body = list(sheet.iter_rows(min_row=2))
    for row, title, score in zip(body, TITLES, SCORES, strict=True):
        assert_xlsx_text(row[3], title)
        assert (row[5].value, row[5].data_type) == (score, "n")

    created = analyst.post("/api/analytics/reports/", json=views_by_title().model_dump(mode="json"))
    assert created.status_code == 201, created.text
    report = created.json()["id"]
    check_report_files(download("csv", report=report), download("xlsx", report=report))


def test_delivered_report_files_are_escaped(tracked_titles: Settings) -> None:
    with session(tracked_titles) as db:
        owner = create_key(db, "analyst", name="ana")[0].principal_id
        report_id = create_report(db, owner, views_by_title()).id
    run = deliver_report(tracked_titles, report_id, trigger="manual")
    assert run is not None and run.status == "succeeded", run and run.error
    files = {Path(path).suffix: Path(path).read_bytes() for path in run.files}
    check_report_files(files[".csv"], files[".xlsx"])


# --- 2. Real-time counts a message once ---------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_retried_message_counts_once_in_real_time(settings: Settings) -> None:
    client = api_client()
    now = datetime.now(UTC)

    def event(mid: str, minutes_ago: float, **extra: object) -> dict:
        at = now - timedelta(minutes=minutes_ago)
        return {"messageId": mid, "anonymousId": "a", "timestamp": iso(at), "sentAt": iso(now),
                **extra}  # fmt: skip

    page = event("m1", 1, type="page")
    liked = event("m2", 2, type="track", event="Content Liked")
    # The page view twice in one request (one landed file), then the whole request
    # retried (another file): three copies of m1, two of m2.
    for _ in range(2):
        landed = client.post(
            "/v1/batch", json={"batch": [page, page, liked]}, auth=("demo-write-key", "")
        )
        assert landed.status_code == 200 and landed.json()["accepted"] == 3
    assert len(sorted(settings.layout.raw_events_dir.rglob("*.parquet"))) == 2

    body = client.get("/api/analytics/real-time/").json()
    # One page view (m1) and one track event (m2), both by anonymous user a.
    for window in body["windows"]:
        assert window == {**window, "active_users": 1, "events": 2, "page_views": 1}
    assert sum(minute["events"] for minute in body["events_per_minute"]) == 2


# --- 3. Timestamps in API responses are UTC, written Z ---------------------------------

# A date-time in any ISO 8601 spelling (a date alone is not one); the API's is RFC 3339
# in UTC: seconds, an optional fraction, then Z.
DATETIME_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
UTC_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


def datetime_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every (path, string) in a JSON document that looks like a date-time."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from datetime_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from datetime_strings(item, f"{path}[{index}]")
    elif isinstance(value, str) and DATETIME_LIKE.match(value):
        yield path, value


def test_datetime_strings_finds_every_spelling() -> None:
    document = {"a": "2026-12-07T20:15:00+00:00", "b": [{"c": "2026-12-07 20:15:00"}],
                "d": "2026-12-07", "e": "2026-12-07T20:15:00.5Z", "f": 3}  # fmt: skip
    found = dict(datetime_strings(document))
    assert found == {
        ".a": "2026-12-07T20:15:00+00:00",
        ".b[0].c": "2026-12-07 20:15:00",
        ".e": "2026-12-07T20:15:00.5Z",
    }
    assert [path for path, text in found.items() if not UTC_Z.fullmatch(text)] == [".a", ".b[0].c"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Naive: UTC, as the databases store it.
        (datetime(2026, 12, 7, 20, 15), "2026-12-07T20:15:00Z"),
        # Aware in another zone (DuckDB's timestamptz on a server whose TZ is Paris).
        (
            datetime(2026, 12, 7, 21, 15, tzinfo=timezone(timedelta(hours=1))),
            "2026-12-07T20:15:00Z",
        ),
        ("2026-12-07T20:15:00.123456+00:00", "2026-12-07T20:15:00.123456Z"),
    ],
)
def test_utc_datetime_is_written_in_utc_with_z(value: object, expected: str) -> None:
    class Stamped(BaseModel):
        at: UtcDateTime

    assert Stamped.model_validate({"at": value}).model_dump(mode="json") == {"at": expected}


def test_json_lines_exports_write_timestamps_as_the_api_does() -> None:
    table = pa.table({"at": pa.array([datetime(2026, 12, 7, 20, 15), None], pa.timestamp("us"))})
    lines = b"".join(export_chunks("jsonl", [], table.to_reader(), title="t")).splitlines()
    assert lines == [b'{"at":"2026-12-07T20:15:00Z"}', b'{"at":null}']


@pytest.fixture
def lived_in(business_warehouse: Settings, tmp_path: Path) -> Settings:
    """A home serving a copy of the hand-built warehouse, with what the GET routes
    show: a failed then a successful build, ML outputs written as the ML assets write
    them."""
    home = served_home(business_warehouse, tmp_path / "home")
    settings = Settings(home=home, alert_delivery_backoff_seconds=0)
    layout = settings.layout
    started = datetime.now(UTC) - timedelta(minutes=5)
    failure = FailedNode(name="mart_x", resource_type="model", message="boom")
    record_attempt(layout, BuildAttempt.finished("run-1", started, [failure]))
    record_attempt(layout, BuildAttempt.finished("run-2", started, []))

    version = new_version()
    save_model(layout, ModelRecord("churn", version, ml_now(), ["2026-01-01", "2026-02-01"], []))
    save_model(layout, ModelRecord("forecasts", version, ml_now(), [], []))
    write_output(
        layout,
        "ml_churn_scores",
        pd.DataFrame(
            {
                "stitched_user_id": ["u1"],
                "probability": [0.8],
                "risk_band": ["high"],
                "drivers": [["a", "b", "c"]],
                "model_version": [version],
                "as_of": [LAST_DAY],
                "scored_at": [pd.Timestamp(datetime.now(UTC))],
            }
        ),
    )
    forecast = {"series": "dau", "date": LAST_DAY + timedelta(days=1), "yhat": 3.0,
                "lower_80": 2.0, "upper_80": 4.0, "lower_95": 1.0, "upper_95": 5.0,
                "model": "prophet", "model_version": version, "trained_at": ml_now()}  # fmt: skip
    write_output(layout, "ml_forecasts", pd.DataFrame([forecast]))
    return settings


def test_every_datetime_in_api_responses_is_utc_with_z(lived_in: Settings) -> None:
    admin = api_client(lived_in, "admin")
    rule = {"name": "signups low", "kind": "threshold", "subject": "new_signups",
            "params": {"operator": "below", "value": 30},
            "channels": {"email": ["ops@ringside.test"]}}  # fmt: skip
    rule_id = admin.post("/api/analytics/alerts/rules", json=rule).json()["id"]
    # 40 then 25: the rule fires (its email delivery fails: no SMTP server here).
    for days in ([DAY1], [DAY1, DAY2]):
        evaluate_alerts(lived_in, metric_rows(*days))
    report = {"name": "MRR", "metrics": ["mrr_usd"], "recipients": {"formats": ["csv"]},
              "date_range": {"type": "absolute", "start": FIRST_DAY.isoformat(),
                             "end": LAST_DAY.isoformat()}}  # fmt: skip
    report_id = admin.post("/api/analytics/reports/", json=report).json()["id"]
    assert admin.post(f"/api/analytics/reports/{report_id}/deliver").status_code == 200
    share = admin.post(f"/api/analytics/reports/{report_id}/shares", json={}).json()
    now = datetime.now(UTC)
    event = {"type": "page", "messageId": "rt-1", "anonymousId": "a",
             "timestamp": iso(now), "sentAt": iso(now)}  # fmt: skip
    landed = admin.post("/v1/batch", json={"batch": [event]}, auth=("demo-write-key", ""))
    assert landed.status_code == 200, landed.text

    routes = [
        "/health",
        "/api/session",
        "/api/analytics/keys/",
        "/api/analytics/real-time/",
        "/api/analytics/predictions/?kind=churn",
        "/api/analytics/predictions/?kind=forecast",
        "/api/analytics/alerts/rules",
        f"/api/analytics/alerts/rules/{rule_id}",
        "/api/analytics/alerts/history",
        "/api/analytics/kpis/",
        "/api/analytics/reports/",
        f"/api/analytics/reports/{report_id}",
        f"/api/analytics/reports/{report_id}/shares",
        f"/api/analytics/reports/{report_id}/runs",
        f"/shared/{share['token']}/data",
        "/api/analytics/dashboards/",
        "/api/analytics/partners/",
        f"/api/analytics/users/?start={FIRST_DAY}&end={LAST_DAY}",
        f"/api/analytics/overview/?start={FIRST_DAY}&end={LAST_DAY}",
    ]
    found: dict[str, list[tuple[str, str]]] = {}
    for route in routes:
        response = admin.get(route)
        assert response.status_code == 200, (route, response.text)
        found[route] = list(datetime_strings(response.json()))
    # The walk reached the timestamps of every kind of data set up above.
    for route, at_least in {
        "/health": {".last_build.started_at", ".last_success_at", ".warehouse_published_at"},
        "/api/analytics/keys/": {"[0].created_at", "[0].last_used_at"},
        "/api/analytics/real-time/": {".as_of", ".events_per_minute[0].minute"},
        "/api/analytics/predictions/?kind=churn": {".trained_at", ".items[0].scored_at"},
        "/api/analytics/predictions/?kind=forecast": {".trained_at", ".items[0].trained_at"},
        f"/api/analytics/alerts/rules/{rule_id}": {".state_since", ".last_evaluated_at"},
        "/api/analytics/alerts/history": {"[0].created_at"},
        f"/api/analytics/reports/{report_id}": {".created_at", ".last_generated_at"},
        f"/api/analytics/reports/{report_id}/shares": {"[0].created_at", "[0].expires_at"},
        f"/api/analytics/reports/{report_id}/runs": {"[0].started_at", "[0].finished_at"},
        f"/shared/{share['token']}/data": {".generated_at"},
    }.items():
        assert at_least <= {path for path, _ in found[route]}, (route, found[route])
    not_utc_z = {
        route: [(path, text) for path, text in strings if not UTC_Z.fullmatch(text)]
        for route, strings in found.items()
    }
    assert {route: bad for route, bad in not_utc_z.items() if bad} == {}
