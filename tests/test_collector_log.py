"""The collector's write-ahead log: group commit, flush to Parquet, replay after a crash
(ingestion/wal.py, ingestion/collector_log.py)."""

import os
import random
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ingestion.collector_log import CollectorLog, FlushPolicy, decode, encode
from ingestion.compaction import compact
from ingestion.landing import rows_to_table
from ingestion.pipeline import Origin, accepted_window, prepare
from ingestion.schema import QUARANTINE_SCHEMA, RAW_EVENT_SCHEMA
from ingestion.wal import WriteAheadLog, frame, read_records, segments
from ringside.core.layout import Layout
from ringside.core.settings import Settings

KILLS = 20


def _origin(home: Path) -> Origin:
    now = datetime.now(UTC)
    return Origin(
        source="http",
        source_ref="test",
        received_at=now,
        window=accepted_window(Settings(home=home), now),
    )


def _event(message_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "type": "track",
        "event": "Video Played",
        "anonymousId": "device-1",
    } | fields


def _record(home: Path, events: list[dict[str, Any]]) -> tuple[bytes, int]:
    prepared = prepare(list(enumerate(events)), _origin(home), None)
    return encode(prepared), prepared.accepted


def _landed_ids(layout: Layout) -> list[str]:
    if not layout.raw_events_dir.exists():
        return []
    return pq.read_table(layout.raw_events_dir, columns=["message_id"])["message_id"].to_pylist()


def test_records_land_as_parquet_by_event_day_and_invalid_ones_in_the_quarantine(tmp_path):
    layout = Layout(tmp_path)
    log = CollectorLog(layout, FlushPolicy(seconds=3600, events=10**9))
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    requests = [
        [_event("a1"), _event("a2", timestamp=yesterday), {"type": "track"}],
        [_event("b1")],
        [{"type": "nonsense", "messageId": "c1"}],
    ]
    for events in requests:
        payload, accepted = _record(tmp_path, events)
        log.append(payload, accepted).result(timeout=10)
    assert _landed_ids(layout) == []  # logged, not landed yet
    files = log.flush()
    assert sorted(_landed_ids(layout)) == ["a1", "a2", "b1"]
    # Two event days (today, yesterday), one quarantine day.
    assert len({path.parent for path in files}) == 3
    quarantined = pq.read_table(layout.quarantine_dir).to_pylist()
    assert sorted((row["source_ref"], row["batch_index"]) for row in quarantined) == [
        ("test", 0),  # the third request's only event
        ("test", 2),  # the first request's third event
    ]
    assert {row["message_id"] for row in quarantined} == {None, "c1"}
    # The landed segments are gone; only the open one is left.
    assert len(segments(log.directory)) == 1
    log.close()
    assert sorted(_landed_ids(layout)) == ["a1", "a2", "b1"]


def test_concurrent_appends_share_syncs(tmp_path):
    wal = WriteAheadLog(tmp_path / "wal")
    futures = []
    lock = threading.Lock()

    def client(n: int) -> None:
        for i in range(200):
            done = wal.append(f"{n}-{i}".encode())
            with lock:
                futures.append(done)
            done.result(timeout=10)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wal.close()
    records = [r for path in segments(tmp_path / "wal") for r in read_records(path)]
    assert sorted(records) == sorted(f"{n}-{i}".encode() for n in range(16) for i in range(200))
    # 3,200 acknowledged appends, far fewer syncs: concurrent requests were grouped.
    assert wal.commits < len(records) / 2


def test_a_torn_tail_is_dropped_and_the_records_before_it_kept(tmp_path):
    wal = WriteAheadLog(tmp_path / "wal")
    for n in range(3):
        wal.append(f"record {n}".encode()).result(timeout=10)
    wal.close()
    (segment,) = segments(tmp_path / "wal")
    whole = frame(b"record 3")
    corrupt = bytearray(frame(b"record 4"))
    corrupt[-1] ^= 0xFF
    for tail in (whole[:5], whole[:-2], bytes(corrupt)):
        copy = tmp_path / f"copy-{len(tail)}.wal"
        copy.write_bytes(segment.read_bytes() + tail)
        assert list(read_records(copy)) == [b"record 0", b"record 1", b"record 2"]


def test_a_process_that_died_is_replayed_by_the_next_one(tmp_path):
    layout = Layout(tmp_path)
    child = _start_writer(tmp_path, seed=1)
    acked = _read_acks_then_kill(child, stop_after=50)
    # A new process takes slot 0 again (the dead one's lock went with it) and lands it.
    log = CollectorLog(layout, FlushPolicy(seconds=3600, events=10**9))
    assert log.slot == 0
    assert acked <= set(_landed_ids(layout))
    log.close()


def test_no_acknowledged_event_is_lost_or_doubled_over_repeated_kills(tmp_path):
    """kill -9 at random points while requests are logged, segments flushed (every 50 ms
    or 200 events) and landed files compacted (every 100 ms); after a final start and
    compaction pass every acknowledged event is landed once."""
    layout = Layout(tmp_path)
    rng = random.Random(20)
    acked: set[str] = set()
    for kill in range(KILLS):
        child = _start_writer(tmp_path, seed=kill)
        acked |= _read_acks_then_kill(child, stop_after=rng.randint(1, 600))
    CollectorLog(layout, FlushPolicy(seconds=3600, events=10**9)).close()
    compact(layout, target_rows=300, lock_timeout_seconds=5)  # finishes a cut-short swap
    landed = Counter(_landed_ids(layout))
    assert len(acked) > KILLS
    assert not acked - set(landed), f"{len(acked - set(landed))} acknowledged events lost"
    assert max(landed.values()) == 1, "an event landed twice"
    assert not any(segments(path) for path in layout.collector_log_dir.iterdir())


WRITER = """
import sys, threading
from pathlib import Path
from tests.test_collector_log import _record
from ingestion.collector_log import CollectorLog, FlushPolicy
from ingestion.compaction import Compactor
from ringside.core.layout import Layout

home, seed = Path(sys.argv[1]), sys.argv[2]
# Flushes every 50 ms and compacts every 100 ms into files of 300 rows: kills land
# while requests are logged, segments landed and landed files merged.
compactor = Compactor(Layout(home), seconds=0.1, target_rows=300)
log = CollectorLog(Layout(home), FlushPolicy(seconds=0.05, events=200), compactor)
print("ready", flush=True)

def client(n):
    i = 0
    while True:
        ids = [f"{seed}-{n}-{i}-{k}" for k in range(1 + i % 3)]
        payload, accepted = _record(home, [{"messageId": m, "type": "page",
                                            "anonymousId": "d"} for m in ids])
        log.append(payload, accepted).result()
        sys.stdout.write("".join(m + "\\n" for m in ids))
        sys.stdout.flush()
        i += 1

for n in range(4):
    threading.Thread(target=client, args=(n,), daemon=True).start()
threading.Event().wait()
"""


def _start_writer(home: Path, seed: int) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[1]
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(home), str(seed)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )


def _read_acks_then_kill(child: subprocess.Popen[str], stop_after: int) -> set[str]:
    """The message ids the child printed after their record was durable; it is killed
    with SIGKILL once ``stop_after`` of them are read."""
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    acked: set[str] = set()
    for line in child.stdout:
        acked.add(line.rstrip("\n"))
        if len(acked) >= stop_after:
            break
    os.kill(child.pid, signal.SIGKILL)
    # What it printed before dying was acknowledged too.
    acked |= {line.rstrip("\n") for line in child.stdout if line.endswith("\n")}
    child.wait(timeout=30)
    return acked


def test_a_logged_request_lands_exactly_the_rows_the_direct_path_lands(tmp_path):
    """The log keeps rows as JSON and builds Arrow at landing: same values, same types."""
    events = [
        _event("p1", type="page", timestamp="2026-12-06T23:59:59.123456+02:00",
               properties={"path": "/news", "url": "https://x.test/news?utm_source=x"},
               context={"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
                        "ip": "10.1.2.3", "consent": {"analytics": True}}),
        _event("i1", type="identify", userId="u1", traits={"plan": "pro", "n": 2}),
        _event("t1", properties={"nested": {"a": [1, 2.5, None]}}, sentAt=None),
        {"type": "track", "messageId": "bad"},
        "not an event",
    ]  # fmt: skip
    prepared = prepare(list(enumerate(events)), _origin(tmp_path), None)
    logged_events, logged_quarantine = decode([encode(prepared)])
    assert logged_events.equals(rows_to_table(prepared.rows, RAW_EVENT_SCHEMA))
    assert logged_quarantine.equals(rows_to_table(prepared.quarantine.rows, QUARANTINE_SCHEMA))
    assert logged_events.num_rows == 3 and logged_quarantine.num_rows == 2
