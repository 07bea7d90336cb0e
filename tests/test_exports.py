"""Exports (issue 9): the row stream on both engines, every format read back equal to
the rows it was given, the row limits, and a large export streamed in bounded memory."""

import csv
import io
import json
import subprocess
import sys
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pypdf
import pytest
from fastapi.testclient import TestClient
from psycopg2 import sql as pgsql
from pydantic import SecretStr

from api.main import create_app
from ringside.access.keys import create_key
from ringside.core import postgres
from ringside.core.appdb import session
from ringside.core.postgres import grant_reader
from ringside.core.settings import Settings, get_settings
from ringside.core.streams import count_rows, open_batches
from ringside.core.warehouse import WarehouseNotBuiltError, open_reader
from ringside.reports.compiler import CompiledQuery, OutputColumn
from ringside.reports.definition import Branding
from ringside.reports.exports import (
    MEDIA_TYPES,
    ROW_LIMITS,
    RowLimitError,
    check_row_limit,
    export_chunks,
    write_export,
)
from tests.api_client import api_client
from tests.postgres import throwaway_database
from tests.test_business_metrics import FIRST_DAY, LAST_DAY

# One table, written the same way on both engines: every type a mart column has, a NaN,
# nulls, and a decimal (DuckDB's `numeric`, PostgreSQL's numeric) that exports as float.
TABLE_DDL = """
create table {table} (
    day date, label varchar, views bigint, rate double precision, amount numeric(10, 2),
    flag boolean
)
"""
TABLE_ROWS = [
    (date(2026, 1, 30), "desktop", 12, 0.5, Decimal("10.25"), True),
    (date(2026, 1, 31), 'mobile, "tablet"', 3, float("nan"), Decimal("0.10"), False),
    (date(2026, 2, 1), None, None, None, None, None),
    (date(2026, 2, 2), "ünïcode", 0, 1.0, Decimal("-3.00"), True),
    (date(2026, 2, 3), "tv", 7, 0.25, Decimal("1.50"), False),
]
# What every engine must stream: decimals as floats, NaN as null.
EXPECTED_ROWS = [
    {"day": date(2026, 1, 30), "label": "desktop", "views": 12, "rate": 0.5, "amount": 10.25,
     "flag": True},
    {"day": date(2026, 1, 31), "label": "mobile, \"tablet\"", "views": 3, "rate": None,
     "amount": 0.1, "flag": False},
    {"day": date(2026, 2, 1), "label": None, "views": None, "rate": None, "amount": None,
     "flag": None},
    {"day": date(2026, 2, 2), "label": "ünïcode", "views": 0, "rate": 1.0, "amount": -3.0,
     "flag": True},
    {"day": date(2026, 2, 3), "label": "tv", "views": 7, "rate": 0.25, "amount": 1.5,
     "flag": False},
]  # fmt: skip
EXPECTED_SCHEMA = pa.schema(
    [
        ("day", pa.date32()),
        ("label", pa.string()),
        ("views", pa.int64()),
        ("rate", pa.float64()),
        ("amount", pa.float64()),
        ("flag", pa.bool_()),
    ]
)
COLUMNS = [
    OutputColumn("day", "Day", "period"),
    OutputColumn("label", "Device", "dimension"),
    OutputColumn("views", "Views", "metric", unit="count", format="#,##0"),
    OutputColumn("rate", "Rate", "metric", unit="ratio", format="0.0%"),
    OutputColumn("amount", "Amount", "metric", unit="usd", format="$#,##0.00"),
    OutputColumn("flag", "Flag", "dimension"),
]
SAMPLE = CompiledQuery(
    sql="select * from sample where day >= $start order by day",
    params={"start": date(2026, 1, 1)},
    columns=COLUMNS,
    source="sample",
)


def duckdb_sample(home: Path) -> Settings:
    """Settings whose served DuckDB copy holds the sample table."""
    settings = Settings(home=home)
    settings.layout.serving_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.layout.serving_path)) as con:
        con.execute(TABLE_DDL.format(table="sample"))
        con.executemany("insert into sample values (?, ?, ?, ?, ?, ?)", TABLE_ROWS)
    return settings


@pytest.fixture(scope="module")
def postgres_sample(tmp_path_factory: pytest.TempPathFactory):
    """Settings of a throwaway PostgreSQL warehouse holding the sample table in the
    marts' schema, readable by the reader role."""
    with throwaway_database() as database:
        settings = Settings(
            home=tmp_path_factory.mktemp("pg"), warehouse="postgres", pg_database=database
        )
        grant_reader(settings)
        con = postgres.connect(settings)
        try:
            with con, con.cursor() as cur:
                table = pgsql.Identifier(settings.pg_schema, "sample")
                cur.execute(pgsql.SQL(TABLE_DDL).format(table=table))
                cur.executemany(
                    pgsql.SQL("insert into {} values (%s, %s, %s, %s, %s, %s)").format(table),
                    TABLE_ROWS,
                )
        finally:
            con.close()
        yield settings


def streamed(settings: Settings, compiled: CompiledQuery, batch_rows: int):
    with open_batches(settings, compiled, batch_rows=batch_rows) as reader:
        batches = list(reader)
        schema = reader.schema
    return schema, batches


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_both_engines_stream_the_same_batches(engine, tmp_path, request):
    if engine == "duckdb":
        settings = duckdb_sample(tmp_path)
    else:
        settings = request.getfixturevalue("postgres_sample")
    schema, batches = streamed(settings, SAMPLE, batch_rows=2)
    assert schema == EXPECTED_SCHEMA
    assert [batch.num_rows for batch in batches] == [2, 2, 1]
    assert all(batch.schema == EXPECTED_SCHEMA for batch in batches)
    assert pa.Table.from_batches(batches).to_pylist() == EXPECTED_ROWS
    with open_reader(settings) as reader:
        assert count_rows(reader, SAMPLE) == 5

    later = CompiledQuery(
        "select * from sample where day > $start", {"start": date(2026, 2, 5)}, COLUMNS, "sample"
    )
    schema, batches = streamed(settings, later, batch_rows=2)
    assert schema == EXPECTED_SCHEMA and sum(b.num_rows for b in batches) == 0
    with open_reader(settings) as reader:
        assert count_rows(reader, later) == 0


def test_nothing_built_is_refused_before_streaming(tmp_path, postgres_sample):
    with pytest.raises(WarehouseNotBuiltError), open_batches(Settings(home=tmp_path), SAMPLE):
        pass
    # The PostgreSQL warehouse exists, but no mart was built into it.
    unbuilt = CompiledQuery("select * from mart_content_performance_daily", {}, [], "content")
    with pytest.raises(WarehouseNotBuiltError), open_batches(postgres_sample, unbuilt):
        pass


def exported(settings: Settings, fmt: str, **kwargs: object) -> bytes:
    with open_batches(settings, SAMPLE, batch_rows=2) as reader:
        return b"".join(
            export_chunks(fmt, COLUMNS, reader, title=kwargs.pop("title", "Sample"), **kwargs)
        )


# CSV cells back to their columns' types (an empty cell is a null).
CSV_TYPES = {
    "day": date.fromisoformat,
    "label": str,
    "views": int,
    "rate": float,
    "amount": float,
    "flag": {"true": True, "false": False}.__getitem__,
}


def test_csv_jsonl_and_parquet_read_back_equal_to_the_rows(tmp_path):
    settings = duckdb_sample(tmp_path)

    text = exported(settings, "csv").decode()
    assert text.splitlines()[0] == "day,label,views,rate,amount,flag"
    read = [
        {key: CSV_TYPES[key](cell) if cell else None for key, cell in row.items()}
        for row in csv.DictReader(io.StringIO(text))
    ]
    assert read == EXPECTED_ROWS

    lines = exported(settings, "jsonl").decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {**row, "day": row["day"].isoformat()} for row in EXPECTED_ROWS
    ]

    table = pq.read_table(io.BytesIO(exported(settings, "parquet")))
    assert table.schema == EXPECTED_SCHEMA
    assert table.to_pylist() == EXPECTED_ROWS


def test_xlsx_has_labels_formats_and_the_rows(tmp_path):
    settings = duckdb_sample(tmp_path)
    path = tmp_path / "out" / "sample.xlsx"
    with open_batches(settings, SAMPLE) as reader:
        write_export("xlsx", COLUMNS, reader, path, title="Devices: daily [2026]")
    sheet = openpyxl.load_workbook(path).active
    assert sheet.title == "Devices  daily  2026"
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == ["Day", "Device", "Views", "Rate", "Amount", "Flag"]
    assert all(cell.font.b for cell in sheet[1])
    # openpyxl reads dates back as midnight datetimes.
    assert [[row[0].date(), *row[1:]] for row in values[1:]] == [
        list(row.values()) for row in EXPECTED_ROWS
    ]
    assert [sheet.cell(2, col).number_format for col in range(3, 6)] == [
        "#,##0",
        "0.0%",
        "$#,##0.00",
    ]
    assert sheet["A2"].number_format == "yyyy-mm-dd"
    assert list(path.parent.iterdir()) == [path]


def test_pdf_carries_title_subtitle_figures_and_branding(tmp_path):
    settings = duckdb_sample(tmp_path)
    branding = Branding(name="Acme Sports", footer="Prepared for Acme by Ringside")
    pdf = exported(
        settings,
        "pdf",
        title="Device revenue",
        subtitle="2026-01-30 to 2026-02-03 · label: desktop, tv",
        branding=branding,
    )
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (
        "Device revenue",
        "2026-01-30 to 2026-02-03",
        "Prepared for Acme by Ringside",
        "Views",
        "Amount",
        "desktop",
        "$10.25",  # usd
        "50.0%",  # ratio 0.5
        "$-3.00",  # as the summaries format a negative amount
        "2026-02-03",
    ):
        assert expected in text, expected
    assert reader.metadata.title == "Device revenue"
    assert reader.metadata.author == "Acme Sports"


def test_row_limits_are_refused_with_the_way_out():
    check_row_limit("pdf", 5_000)
    check_row_limit("csv", 10_000_000)
    with pytest.raises(RowLimitError) as refused:
        check_row_limit("pdf", 12_345)
    assert str(refused.value) == (
        "PDF exports hold at most 5,000 rows; this export has 12,345 — add filters or "
        "choose csv, jsonl or parquet"
    )
    with pytest.raises(RowLimitError, match="XLSX exports hold at most 1,048,575 rows"):
        check_row_limit("xlsx", 1_048_576)

    # A caller that did not count first: the limit stops the export before any byte.
    rows = pa.table({"n": pa.array(range(5_001), pa.int64())})
    chunks = export_chunks("pdf", [], rows.to_reader(max_chunksize=1_000), title="Too long")
    with pytest.raises(RowLimitError, match="this export has more than 5,000"):
        next(chunks)


LARGE_ROWS = 2_500_000
# mart_content_performance_daily's columns, 5,000 items over 500 days, made by SQL.
LARGE_MART = f"""
create table mart_content_performance_daily as
select
    lpad(i::varchar, 32, '0') as content_day_id,
    'content-' || (i % 5000) as content_id,
    date '2025-01-01' + (i // 5000)::integer as activity_date,
    ['video', 'article', 'podcast'][i % 3 + 1] as content_type,
    'Highlights and the full replay of the fixture number ' || (i % 5000) as title,
    i % 11 <> 0 as is_in_catalog,
    i % 997 as views,
    i % 631 as unique_views,
    i % 401 as views_with_time,
    (i % 600) / 3.0 as avg_engaged_seconds,
    i % 97 as landing_sessions,
    i % 41 as bounced_sessions,
    (i % 41) / 97.0 as bounce_rate,
    i % 13 as shares,
    i % 17 as likes,
    i % 7 as comments,
    i % 89 as video_starts,
    i % 53 as video_completions,
    (i % 53) / 89.0 as video_completion_rate,
    i % 301 as search_appearances,
    i % 29 as search_clicks,
    (i % 29) / 301.0 as search_ctr,
    i % 23 as views_from_search,
    i % 19 as views_from_social,
    i % 5 as views_from_campaign,
    i % 3 as views_from_referral,
    i % 31 as views_from_direct,
    i % 1009 as prior_7d_views,
    (i % 1009) / 7.0 as mean_prior_daily_views,
    i % 2 = 0 as has_full_prior_window,
    i % 37 = 0 as is_trending,
    (i % 1000) / 100.0 as trending_score,
    (i % 100) / 10.0 as quality_score
from range({LARGE_ROWS}) as r(i)
"""
# Runs in a fresh interpreter; the baseline is its peak after the imports, before the
# export starts. The peak is VmHWM, the high-water mark of this process image: Linux
# carries ru_maxrss across exec from the forked parent (pytest, holding the fixture).
MEASURE_EXPORT = """
import json, sys, time
from pathlib import Path
from ringside.reports.compiler import CompiledQuery
from ringside.reports.exports import export_chunks
from ringside.core.streams import open_batches
from ringside.core.settings import Settings

def peak_mb():
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024

baseline = peak_mb()
compiled = CompiledQuery(
    "select * from mart_content_performance_daily order by activity_date, content_id",
    {}, [], "content",
)
size = lines = 0
started = time.perf_counter()
with open_batches(Settings(home=Path(sys.argv[1])), compiled) as batches:
    for chunk in export_chunks("csv", [], batches, title="content"):
        size += len(chunk)
        lines += chunk.count(b"\\n")
seconds = time.perf_counter() - started
print(json.dumps({"baseline_mb": baseline, "peak_mb": peak_mb(), "output_mb": size / 2**20,
                  "lines": lines, "seconds": seconds}))
"""


def test_a_large_csv_export_streams_in_bounded_memory(tmp_path):
    settings = Settings(home=tmp_path)
    settings.layout.serving_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.layout.serving_path)) as con:
        con.execute(LARGE_MART)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE_EXPORT, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    measured = json.loads(done.stdout)
    print("large CSV export:", measured)
    assert measured["lines"] == LARGE_ROWS + 1
    # The ordered export passes through DuckDB's sort: bounded by the export's memory
    # limit (it spills past it), never by the size of the output.
    assert measured["output_mb"] > 650
    assert measured["peak_mb"] - measured["baseline_mb"] < measured["output_mb"] / 3


# The route, over the hand-built warehouse of tests/test_business_metrics.py.

URL = "/api/analytics/export/"
SPAN = {"start": FIRST_DAY.isoformat(), "end": LAST_DAY.isoformat()}
ROUND_TRIPS = ["csv", "jsonl", "parquet", "xlsx"]


@pytest.fixture(scope="module")
def served(business_warehouse: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The shared warehouse, with an app database only this module writes to."""
    app_db = tmp_path_factory.mktemp("exports-app") / "app.sqlite"
    return business_warehouse.model_copy(update={"app_db_url": SecretStr(f"sqlite:///{app_db}")})


@pytest.fixture(scope="module")
def analyst(served: Settings) -> TestClient:
    return api_client(served, "analyst")


def download(client: TestClient, fmt: str, **params: object) -> bytes:
    response = client.get(URL, params={**params, "format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == MEDIA_TYPES[fmt].split(";")[0]
    return response.content


def as_json(value: object) -> object:
    """A value as the API's JSON carries it (openpyxl reads dates as midnight datetimes)."""
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat() if isinstance(value, date) else value


def like(cell: str, expected: object) -> object:
    """A CSV cell as the type of the JSON value it should equal."""
    if cell == "" and expected is None:
        return None
    if isinstance(expected, bool):
        return {"true": True, "false": False}[cell]
    if isinstance(expected, int | float):
        return float(cell)
    return cell


def read_back(fmt: str, content: bytes, expected: list[dict[str, object]]) -> list[dict]:
    """An export's rows as JSON values, in the order of the `expected` rows' keys. XLSX
    cells are matched to those names by position (its header holds labels); CSV cells
    take the types of the expected values."""
    names = list(expected[0])
    if fmt == "jsonl":
        rows = [json.loads(line) for line in content.decode().splitlines()]
    elif fmt == "parquet":
        rows = pq.read_table(io.BytesIO(content)).to_pylist()
    elif fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        cells = sheet.iter_rows(min_row=2, values_only=True)
        rows = [dict(zip(names, row, strict=True)) for row in cells]
    else:
        cells = list(csv.DictReader(io.StringIO(content.decode())))
        rows = [
            {n: like(row[n], want[n]) for n in names}
            for row, want in zip(cells, expected, strict=True)
        ]
    return [{n: as_json(row[n]) for n in names} for row in rows]


def assert_equal_rows(fmt: str, got: list[dict], expected: list[dict]) -> None:
    if fmt != "xlsx":
        assert got == expected
        return
    # openpyxl writes floats with 16 significant digits (0.1428571428571428 for 1/7).
    assert len(got) == len(expected)
    for row, want in zip(got, expected, strict=True):
        assert row == pytest.approx(want)


@pytest.mark.parametrize("fmt", ROUND_TRIPS)
def test_a_metric_export_reads_back_equal_to_the_business_api(analyst: TestClient, fmt: str):
    params = {"metric": "mrr_usd", **SPAN}
    response = analyst.get("/api/analytics/business/", params=params)
    assert response.status_code == 200, response.text
    expected = [{k: v for k, v in r.items() if k != "format"} for r in response.json()["rows"]]
    # MRR per day (tests/test_business_metrics.py): 20 on Jan 30, then 30.
    assert [row["value"] for row in expected] == [20, 30, 30, 30]
    assert_equal_rows(fmt, read_back(fmt, download(analyst, fmt, **params), expected), expected)


def test_a_metric_export_is_named_and_sliced(analyst: TestClient):
    response = analyst.get(
        URL, params={"metric": "dau", "dimension": "device_type", "end": "2026-01-30"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        'attachment; filename="dau-start_2026-01-30.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    # DAU on Jan 30: desktop 2, mobile 1.
    assert {r["dimension_value"]: float(r["value"]) for r in rows} == {"desktop": 2, "mobile": 1}


@pytest.mark.parametrize("fmt", ROUND_TRIPS)
def test_a_mart_export_reads_back_equal_to_the_mart(
    analyst: TestClient, served: Settings, fmt: str
):
    with duckdb.connect(str(served.layout.serving_path), read_only=True) as con:
        cursor = con.execute(
            "select * from mart_content_performance_daily where activity_date between ? and ? "
            "order by activity_date, content_id",
            [FIRST_DAY, LAST_DAY],
        )
        names = [d[0] for d in cursor.description]
        expected = [
            {n: as_json(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()
        ]
    assert expected, "the hand-built warehouse has content rows"
    got = read_back(fmt, download(analyst, fmt, mart="content", **SPAN), expected)
    # The export is ordered by day only.
    assert_equal_rows(
        fmt, sorted(got, key=lambda r: (r["activity_date"], r["content_id"])), expected
    )


@pytest.fixture(scope="module")
def report(analyst: TestClient) -> dict[str, object]:
    body = {
        "name": "Audience by device",
        "metrics": ["dau", "mau", "stickiness"],
        "dimensions": ["device_type"],
        "date_range": {"type": "absolute", **SPAN},
    }
    response = analyst.post("/api/analytics/reports/", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def run_rows(client: TestClient, report_id: object) -> list[dict[str, object]]:
    response = client.post(f"/api/analytics/reports/{report_id}/run")
    assert response.status_code == 200, response.text
    return response.json()["rows"]


@pytest.mark.parametrize("fmt", ROUND_TRIPS)
def test_a_report_export_reads_back_equal_to_its_run(
    analyst: TestClient, report: dict[str, object], fmt: str
):
    expected = run_rows(analyst, report["id"])
    # DAU on Jan 30 (tests/test_business_metrics.py): desktop 2, mobile 1.
    assert {r["device_type"]: r["dau"] for r in expected if r["period"] == "2026-01-30"} == {
        "desktop": 2,
        "mobile": 1,
    }
    got = read_back(fmt, download(analyst, fmt, report=report["id"]), expected)
    assert_equal_rows(fmt, got, expected)


def test_the_export_instance_is_closed_when_the_body_ends(
    analyst: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # The export's DuckDB instance spills into a temporary directory removed on close.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with analyst.stream("GET", URL, params={"mart": "content"}) as response:
        assert response.status_code == 200
        assert [p.name.startswith("ringside-export-") for p in tmp_path.iterdir()] == [True]
        body = b"".join(response.iter_bytes())
    assert body.startswith(b"content_day_id,content_id,activity_date,")
    assert list(tmp_path.iterdir()) == []


def test_a_report_export_takes_filters_and_a_range(analyst: TestClient, report: dict):
    response = analyst.get(
        URL,
        params={
            "report": report["id"],
            "filter": "device_type:mobile",
            "start": "2026-01-31",
            "end": "2026-02-01",
            "format": "jsonl",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        'attachment; filename="audience-by-device-2026-01-31_2026-02-01.jsonl"'
    )
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert {(r["period"], r["device_type"]) for r in rows} == {
        ("2026-01-31", "mobile"),
        ("2026-02-01", "mobile"),
    }


def test_the_pdf_of_a_report_has_its_title_and_figures(
    analyst: TestClient, report: dict[str, object]
):
    pdf = download(analyst, "pdf", report=report["id"])
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Audience by device" in text
    assert f"{FIRST_DAY} to {LAST_DAY}" in text
    for row in run_rows(analyst, report["id"]):
        assert row["period"] in text and row["device_type"] in text
    # Column labels from the catalog, not column names.
    assert "Daily active users" in text and "dau" not in text.split()


def test_formats_past_their_row_limit_are_refused_before_streaming(
    analyst: TestClient, report: dict[str, object], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(ROW_LIMITS, "pdf", 5)
    response = analyst.get(URL, params={"report": report["id"], "format": "pdf"})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "format"]
    # 4 days by 2 devices.
    assert error["msg"] == (
        "PDF exports hold at most 5 rows; this export has 8 — add filters or choose csv, "
        "jsonl or parquet"
    )
    filtered = {"report": report["id"], "format": "pdf", "filter": "device_type:mobile"}
    assert analyst.get(URL, params=filtered).status_code == 200
    csv_export = analyst.get(URL, params={"report": report["id"], "format": "csv"})
    assert len(csv_export.text.splitlines()) == 1 + 8


@pytest.mark.parametrize(
    ("params", "loc", "allowed"),
    [
        ({"mart": "nope"}, ["query", "mart"], "content"),
        ({"metric": "nope"}, ["query", "metric"], "mrr_usd"),
        ({"metric": "mrr_usd", "dimension": "channel"}, ["query", "dimension"], "all"),
        ({"mart": "content", "filter": "colour:red"}, ["query", "filter", 0], "content_type"),
        ({"mart": "content", "filter": "no-colon"}, ["query", "filter", 0], None),
        ({"metric": "dau", "filter": "device_type:mobile"}, ["query", "filter"], None),
        ({}, ["query", "report"], None),
        ({"mart": "content", "metric": "dau"}, ["query", "metric"], None),
        ({"mart": "content", "start": "2026-02-02", "end": "2026-02-01"}, ["query", "end"], None),
    ],
)
def test_unknown_names_and_filters_are_refused_naming_the_parameter(
    analyst: TestClient, params: dict[str, str], loc: list[object], allowed: str | None
):
    response = analyst.get(URL, params=params)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == loc
    if allowed is not None:
        assert allowed in error["ctx"]["allowed"]


def test_a_report_filter_on_an_unknown_dimension_names_the_filter(
    analyst: TestClient, report: dict
):
    response = analyst.get(
        URL,
        params={
            "report": report["id"],
            "filter": ["device_type:mobile", "device_type:desktop", "colour:red", "colour:blue"],
        },
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "filter", 2]
    assert "colour" in error["msg"]


def test_exports_need_an_analyst_key(served: Settings, report: dict):
    anonymous = TestClient(create_app())
    anonymous.app.dependency_overrides[get_settings] = lambda: served
    assert anonymous.get(URL, params={"mart": "content"}).status_code == 401
    viewer = api_client(served, "viewer")
    response = viewer.get(URL, params={"mart": "content"})
    assert response.status_code == 403
    assert "analyst" in response.json()["detail"]
    # Someone else's private report does not exist for another analyst.
    with session(served) as db:
        _, secret = create_key(db, "analyst", name="mallory")
    headers = {"X-API-Key": secret}
    assert anonymous.get(URL, params={"report": report["id"]}, headers=headers).status_code == 404


def test_nothing_built_answers_503(tmp_path: Path):
    client = api_client(Settings(home=tmp_path), "analyst")
    for fmt in ("csv", "pdf"):
        response = client.get(URL, params={"mart": "content", "format": fmt})
        assert response.status_code == 503, response.text
        assert "ringside build" in response.json()["detail"]
