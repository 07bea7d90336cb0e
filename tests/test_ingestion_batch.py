"""The pipeline behind both doors (skew correction, landing, quarantine) and the batch
loader, on real files under tmp_path, reading back what landed."""

import gzip
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.batch import IngestError, ingest_paths
from ingestion.landing import land_quarantine
from ingestion.pipeline import Origin, accepted_window, process
from ingestion.schema import CONTENT_SCHEMA, QUARANTINE_SCHEMA, RAW_EVENT_SCHEMA
from ringside.core.files import atomic_parquet
from ringside.core.layout import Layout
from ringside.core.settings import Settings

RECEIVED = datetime(2026, 8, 4, 10, 0, 5, tzinfo=UTC)


def at(text: str) -> datetime:
    """A stored (naive UTC) timestamp, as read back from Parquet."""
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def event(mid: str, **fields: Any) -> dict[str, Any]:
    return {
        "messageId": mid,
        "type": "track",
        "event": "Content Liked",
        "anonymousId": "d1",
    } | fields


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture
def layout(settings: Settings) -> Layout:
    return settings.layout


def landed(layout: Layout) -> dict[str, dict[str, Any]]:
    rows = pq.read_table(layout.raw_events_dir).to_pylist()
    return {row["message_id"]: row for row in rows}


def quarantined(layout: Layout) -> list[dict[str, Any]]:
    if not layout.quarantine_dir.exists():
        return []
    return sorted(pq.read_table(layout.quarantine_dir).to_pylist(), key=lambda r: r["batch_index"])


def land(layout: Layout, events: list[Any], **origin: Any) -> None:
    options = {
        "source": "http",
        "source_ref": "req-1",
        "received_at": RECEIVED,
        "window": accepted_window(Settings(), RECEIVED),
    } | origin
    process(list(enumerate(events)), Origin(**options), layout, None)


# -- skew correction (docs/events.md) --------------------------------------------------------


def test_a_client_clock_two_hours_fast_is_corrected(layout: Layout):
    # The device thinks it is 12:00; the server receives the batch at 10:00:05 UTC.
    land(layout, [event("e1", timestamp="2026-08-04T12:00:00Z", sentAt="2026-08-04T12:00:05Z")])
    row = landed(layout)["e1"]
    assert row["event_time"] == at("2026-08-04T10:00:00Z")
    assert row["original_timestamp"] == at("2026-08-04T12:00:00Z")  # raw values kept
    assert row["sent_at"] == at("2026-08-04T12:00:05Z")
    assert row["received_at"] == at("2026-08-04T10:00:05Z")


def test_a_batch_level_sent_at_applies_to_events_without_their_own(layout: Layout):
    land(
        layout,
        [
            event("e1", timestamp="2026-08-04T11:59:00Z"),
            event("e2", timestamp="2026-08-04T11:59:00Z", sentAt="2026-08-04T11:59:30Z"),
        ],
        sent_at=datetime(2026, 8, 4, 12, 0, 5, tzinfo=UTC),
    )
    rows = landed(layout)
    # e1: 10:00:05 - (12:00:05 - 11:59:00) = 09:59:00
    assert rows["e1"]["event_time"] == at("2026-08-04T09:59:00Z")
    assert rows["e1"]["sent_at"] == at("2026-08-04T12:00:05Z")
    # e2's own sentAt wins: 10:00:05 - (11:59:30 - 11:59:00) = 09:59:35
    assert rows["e2"]["event_time"] == at("2026-08-04T09:59:35Z")


def test_a_timestamp_alone_is_the_event_time_and_offsets_become_utc(layout: Layout):
    land(layout, [event("e1", timestamp="2026-08-04T09:30:00+02:00")])
    assert landed(layout)["e1"]["event_time"] == at("2026-08-04T07:30:00Z")


def test_without_a_timestamp_the_event_time_is_the_arrival(layout: Layout):
    land(layout, [event("e1", sentAt="2026-08-04T12:00:05Z")])
    assert landed(layout)["e1"]["event_time"] == at("2026-08-04T10:00:05Z")


def test_batch_files_trust_their_received_at_else_the_ingestion_time(layout: Layout):
    ingested = datetime(2026, 8, 9, tzinfo=UTC)
    land(
        layout,
        [
            event("e1", timestamp="2026-08-04T12:00:00Z", sentAt="2026-08-04T12:00:05Z",
                  receivedAt="2026-08-04T10:00:05Z"),
            event("e2"),
        ],
        source="batch", source_ref="/x/events.ndjson", received_at=ingested,
    )  # fmt: skip
    rows = landed(layout)
    assert rows["e1"]["event_time"] == at("2026-08-04T10:00:00Z")
    assert rows["e2"]["received_at"] == rows["e2"]["event_time"] == at("2026-08-09T00:00:00Z")
    assert rows["e1"]["source_ref"] == "/x/events.ndjson:0"  # file:line


def test_every_column_of_a_landed_event(layout: Layout):
    ua = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
    rich = {
        "messageId": "m-1", "type": "page", "name": "Article", "anonymousId": "d1",
        "userId": "u1", "timestamp": "2026-08-04T09:59:00Z", "sentAt": "2026-08-04T10:00:00Z",
        "context": {
            "ip": "203.0.113.77", "userAgent": ua, "locale": "fr-FR", "sessionId": "s-1",
            "library": {"name": "analytics.js", "version": "5.2.0"},
            "consent": {"analytics": True},
            "page": {"url": "https://x.test/a?utm_source=g&utm_medium=cpc", "path": "/a",
                     "referrer": "https://r.test/", "title": "A", "search": "?utm_source=g"},
        },
        "properties": {"content_id": "article:1"},
        "traits": {"plan": "free"},
    }  # fmt: skip
    land(layout, [rich])  # received 10:00:05, so event_time = 10:00:05 - 60 s
    row = landed(layout)["m-1"]
    row.pop("event_date")  # the partition directory, not a column of the file
    ingested_at = row.pop("ingested_at")
    assert abs(ingested_at - datetime.now(UTC).replace(tzinfo=None)).total_seconds() < 60
    assert row == {
        "message_id": "m-1", "type": "page", "event": None, "name": "Article",
        "anonymous_id": "d1", "user_id": "u1", "previous_id": None,
        "event_time": at("2026-08-04T09:59:05Z"), "original_timestamp": at("2026-08-04T09:59:00Z"),
        "sent_at": at("2026-08-04T10:00:00Z"), "received_at": at("2026-08-04T10:00:05Z"),
        "session_id": "s-1",
        "page_url": "https://x.test/a?utm_source=g&utm_medium=cpc", "page_path": "/a",
        "page_referrer": "https://r.test/", "page_title": "A", "page_search": "?utm_source=g",
        "utm_source": "g", "utm_medium": "cpc", "utm_campaign": None, "utm_term": None,
        "utm_content": None,
        "ip": "203.0.113.0", "user_agent": ua, "locale": "fr-FR",
        "library_name": "analytics.js", "library_version": "5.2.0", "consent_analytics": True,
        "device_type": "desktop", "browser": "Firefox", "os": "Linux",
        "country": None, "city": None,
        "properties": '{"content_id":"article:1"}', "traits": '{"plan":"free"}',
        "context": json.dumps(rich["context"] | {"ip": "203.0.113.0"}, separators=(",", ":")),
        "source": "http", "source_ref": "req-1",
    }  # fmt: skip


# -- landing ---------------------------------------------------------------------------


def test_events_are_partitioned_by_utc_event_date_and_no_temp_file_remains(layout: Layout):
    land(
        layout,
        [
            event("late-evening", timestamp="2026-08-04T01:00:00+02:00"),  # 23:00 UTC Aug 3
            event("morning", timestamp="2026-08-04T08:00:00Z"),
            event("bad", type="nope"),  # quarantined: its file must be complete too
        ],
    )
    partitions = {p.name: [f.name for f in p.iterdir()] for p in layout.raw_events_dir.iterdir()}
    assert set(partitions) == {"event_date=2026-08-03", "event_date=2026-08-04"}
    day3 = pq.read_table(layout.raw_events_partition(datetime(2026, 8, 3).date()))
    assert day3.column("message_id").to_pylist() == ["late-evening"]
    assert day3.schema.equals(RAW_EVENT_SCHEMA)
    every_file = [p for p in layout.home.rglob("*") if p.is_file()]
    assert every_file and all(p.suffix == ".parquet" and p.name[0] != "." for p in every_file)


def test_a_failed_write_leaves_nothing(tmp_path: Path):
    table = QUARANTINE_SCHEMA.empty_table()
    with (
        pytest.raises(RuntimeError),
        atomic_parquet(tmp_path / "d", "x.parquet", table.schema) as w,
    ):
        w.write_table(table)
        raise RuntimeError("disk on fire")
    assert list((tmp_path / "d").iterdir()) == []


def test_concurrent_writers_never_collide(layout: Layout):
    table = pa.Table.from_pylist(
        [{"received_at": datetime(2026, 8, 4), "source": "http", "field": "$", "reason": "r",
          "errors": "[]", "payload": "{}"}],
        schema=QUARANTINE_SCHEMA,
    )  # fmt: skip
    day = datetime(2026, 8, 4).date()
    threads = [
        threading.Thread(target=land_quarantine, args=(table, day, layout, "http"))
        for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(list(layout.quarantine_partition(day).glob("*.parquet"))) == 16
    assert pq.read_table(layout.quarantine_partition(day)).num_rows == 16


def test_rejects_are_quarantined_with_every_reason_and_the_payload(layout: Layout):
    bad = {"messageId": "m-bad", "type": "track", "timestamp": "2026-08-04T10:00:00",
           "context": {"ip": "203.0.113.77", "locale": "fr-FR"}}  # fmt: skip
    land(layout, [event("ok"), bad])
    (row,) = quarantined(layout)
    assert (row["batch_index"], row["message_id"], row["source_ref"]) == (1, "m-bad", "req-1")
    assert row["field"] == "timestamp" and "UTC offset" in row["reason"]
    # As received, except that no full IP address is stored anywhere.
    assert json.loads(row["payload"]) == bad | {"context": {"ip": "203.0.113.0", "locale": "fr-FR"}}
    assert [e["field"] for e in json.loads(row["errors"])] == ["timestamp"]
    assert row["received_at"] == at("2026-08-04T10:00:05Z")
    assert layout.quarantine_partition(RECEIVED.date()).is_dir()
    assert set(landed(layout)) == {"ok"}


def test_the_context_is_stored_with_the_ip_anonymized(layout: Layout):
    land(layout, [event("e1", context={"ip": "203.0.113.77", "timezone": "Europe/Paris"})])
    row = landed(layout)["e1"]
    assert row["ip"] == "203.0.113.0"
    assert json.loads(row["context"]) == {"ip": "203.0.113.0", "timezone": "Europe/Paris"}


# -- batch loader -----------------------------------------------------------------------

VALID = [
    event("v1", timestamp="2026-08-04T10:00:00Z", receivedAt="2026-08-04T10:00:01Z",
          properties={"content_id": "article:1"}, context={"userAgent": "curl/8"}),
    event("v2", type="page", name="Home", timestamp="2026-08-04T11:00:00Z"),
    event("v3", type="identify", userId="u1", traits={"plan": "annual"}),
]  # fmt: skip


def write_gz(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")
    return path


def mixed_lines() -> list[str]:
    return [
        json.dumps(VALID[0]),  # line 1
        json.dumps(VALID[1]),  # 2
        '{"messageId": "broken", "type": "tr',  # 3: not JSON (a truncated write)
        "",  # 4: blank, not an event
        json.dumps(event("no-event", event=None)),  # 5: track without `event`
        json.dumps(VALID[0]),  # 6: the same event again (a retry)
        json.dumps(VALID[2]),  # 7
        json.dumps(event("naive", timestamp="2026-08-04T10:00:00")),  # 8
    ]


def test_a_file_with_valid_invalid_non_json_and_duplicate_lines(tmp_path: Path, settings):
    path = write_gz(tmp_path / "in" / "2026-08-04.ndjson.gz", mixed_lines())
    report = ingest_paths([path], settings.layout, settings)

    (file,) = report.files
    assert (file.kind, file.lines, file.accepted, file.quarantined) == ("events", 7, 4, 3)
    assert report.accepted + report.quarantined == report.lines == 7
    assert file.quarantined_by_field == {"$": 1, "event": 1, "timestamp": 1}

    rows = quarantined(settings.layout)
    assert [(r["batch_index"], r["field"]) for r in rows] == [
        (3, "$"),
        (5, "event"),
        (8, "timestamp"),
    ]
    assert rows[0]["reason"].startswith("not valid JSON: ")
    assert rows[0]["payload"] == '{"messageId": "broken", "type": "tr'
    assert rows[1]["reason"] == "is required for type 'track'"
    assert {r["source_ref"] for r in rows} == {str(path)}
    assert {r["source"] for r in rows} == {"batch"}

    # The repeated line is landed again; dbt staging keeps the first copy by messageId.
    table = pq.read_table(settings.layout.raw_events_dir)
    assert sorted(table.column("message_id").to_pylist()) == ["v1", "v1", "v2", "v3"]
    v1 = landed(settings.layout)["v1"]
    assert v1["received_at"] == at("2026-08-04T10:00:01Z")
    assert v1["device_type"] == "other" and v1["browser"] == "curl"
    assert json.loads(v1["properties"]) == {"content_id": "article:1"}
    assert json.loads(landed(settings.layout)["v3"]["traits"]) == {"plan": "annual"}


def test_reingesting_the_same_content_is_skipped_unless_forced(tmp_path: Path, settings):
    path = write_gz(tmp_path / "in" / "a.ndjson.gz", [json.dumps(e) for e in VALID])
    first = ingest_paths([path], settings.layout, settings)
    assert first.accepted == 3 and first.skipped == 0

    again = ingest_paths([path], settings.layout, settings)
    assert (again.accepted, again.skipped) == (0, 1)
    assert again.files[0].note is not None and str(path) in again.files[0].note
    # Same content under another name is the same data.
    copy = tmp_path / "elsewhere" / "b.ndjson.gz"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    assert ingest_paths([copy], settings.layout, settings).skipped == 1
    assert pq.read_table(settings.layout.raw_events_dir).num_rows == 3

    forced = ingest_paths([path], settings.layout, settings, force=True)
    assert forced.accepted == 3
    assert pq.read_table(settings.layout.raw_events_dir).num_rows == 6


def test_directories_are_searched_recursively_and_snapshots_recognized(tmp_path: Path, settings):
    out = tmp_path / "export"
    write_gz(out / "events" / "2026-08-04.ndjson.gz", [json.dumps(e) for e in VALID[:2]])
    (out / "events" / "2026-08-05.jsonl").write_text(json.dumps(VALID[2]) + "\n")
    (out / "snapshots").mkdir()
    (out / "snapshots" / "content.ndjson").write_text(
        json.dumps({"content_id": "article:1", "content_type": "article", "title": "T",
                    "published_at": "2026-07-01T09:00:00.000Z", "fighters": ["A", "B"]}) + "\n"
        + json.dumps({"content_id": "", "content_type": "article"}) + "\n"
    )  # fmt: skip
    write_gz(
        out / "snapshots" / "accounts.ndjson.gz",
        [json.dumps({"user_id": "u1", "created_at": "2026-07-02T00:00:00Z", "plan": "free"})],
    )
    (out / "manifest.json").write_text("{}")

    report = ingest_paths([out], settings.layout, settings)
    kinds = {Path(f.path).name: (f.kind, f.accepted, f.quarantined) for f in report.files}
    assert kinds == {
        "2026-08-04.ndjson.gz": ("events", 2, 0),
        "2026-08-05.jsonl": ("events", 1, 0),
        "content.ndjson": ("content", 1, 1),
        "accounts.ndjson.gz": ("accounts", 1, 0),
    }
    assert report.ignored == [str(out / "manifest.json")]

    (content_file,) = settings.layout.snapshot_dir("content").glob("content-*.parquet")
    content = pq.read_table(content_file)
    assert content.schema.equals(CONTENT_SCHEMA)
    (row,) = content.to_pylist()
    assert row["published_at"] == at("2026-07-01T09:00:00Z")
    assert json.loads(row["fighters"]) == ["A", "B"]
    assert abs(row["snapshot_at"] - datetime.now(UTC).replace(tzinfo=None)).total_seconds() < 60
    (bad,) = quarantined(settings.layout)
    assert (bad["field"], bad["reason"], bad["batch_index"]) == (
        "content_id",
        "must not be empty",
        2,
    )


def test_large_files_are_landed_in_chunks(tmp_path: Path, settings):
    lines = [json.dumps(event(f"m{i}", timestamp="2026-08-04T10:00:00Z")) for i in range(7)]
    path = write_gz(tmp_path / "a.ndjson.gz", lines)
    report = ingest_paths([path], settings.layout, settings, chunk_lines=3)
    assert report.files[0].files_written == 3
    assert pq.read_table(settings.layout.raw_events_dir).num_rows == 7


def test_workers_ingest_files_in_parallel_processes(tmp_path: Path, settings):
    for day in (4, 5, 6):
        lines = [
            json.dumps(event(f"{day}-{i}", timestamp=f"2026-08-0{day}T10:00:00Z")) for i in range(5)
        ]
        write_gz(tmp_path / "in" / f"2026-08-0{day}.ndjson.gz", lines)
    report = ingest_paths([tmp_path / "in"], settings.layout, settings, workers=2)
    assert [f.accepted for f in report.files] == [5, 5, 5]
    assert pq.read_table(settings.layout.raw_events_dir).num_rows == 15


def test_a_missing_path_is_a_clear_error(tmp_path: Path, settings):
    with pytest.raises(IngestError, match=r"no such file or directory: .*nope"):
        ingest_paths([tmp_path / "nope"], settings.layout, settings)


def test_a_file_of_unknown_type_is_a_clear_error(tmp_path: Path, settings):
    path = tmp_path / "events.csv"
    path.write_text("a,b\n")
    with pytest.raises(IngestError, match=r"unknown file type: .*events\.csv \(expected"):
        ingest_paths([path], settings.layout, settings)


def test_a_truncated_gzip_file_is_a_clear_error_and_is_not_marked_ingested(tmp_path, settings):
    good = write_gz(tmp_path / "good.ndjson.gz", [json.dumps(e) for e in VALID])
    broken = tmp_path / "in" / "broken.ndjson.gz"
    broken.parent.mkdir()
    broken.write_bytes(good.read_bytes()[:-12])  # lost its end (and gzip trailer)
    with pytest.raises(IngestError, match=r"cannot read .*broken\.ndjson\.gz"):
        ingest_paths([broken], settings.layout, settings)
    broken.write_bytes(good.read_bytes())  # re-exported whole: ingested normally
    assert ingest_paths([broken], settings.layout, settings).accepted == 3


def test_the_summary_names_every_file_and_the_totals(tmp_path: Path, settings):
    path = write_gz(tmp_path / "in" / "2026-08-04.ndjson.gz", mixed_lines())
    ingest_paths([path], settings.layout, settings)
    summary = ingest_paths([path], settings.layout, settings, force=True).summary()
    assert "7 lines, 4 accepted, 3 quarantined ($ 1, event 1, timestamp 1)" in summary
    assert summary.splitlines()[-1].startswith("total: 1 files ingested, 0 skipped")
