"""Security review findings (issue 21): formula injection in CSV and XLSX exports, a
retried message counted twice by the real-time route, and timestamps in API responses
that must carry their offset (UTC as `Z`). Every expectation is derived by hand from the
small inputs built here."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa
import pytest
from openpyxl.cell import Cell

from ringside.core.appdb import session
from ringside.core.settings import Settings
from ringside.reports.definition import AbsoluteRange, Recipients, ReportSpec
from ringside.reports.delivery import deliver_report
from ringside.reports.exports import export_chunks
from ringside.reports.library import create_report
from tests.api_client import api_client

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
        report_id = create_report(db, "ana", views_by_title()).id
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
