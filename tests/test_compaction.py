"""The compactor (ingestion/compaction.py): small landed files merged into target-sized
ones, nothing lost or doubled, builds reading exactly what they lack, kills survived."""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingestion.compaction import compact, segment_file_name
from ingestion.pipeline import process
from ringside.core.build_state import BuildState, Generation, new_files
from ringside.core.layout import Layout
from ringside.core.raw_lock import reading_raw
from tests.test_collector_log import _event, _origin

KILLS = 20


def _land(layout: Layout, ids: list[str], mtime: float | None = None, **fields) -> Path:
    """One landed file of ``ids`` (today's events), dated ``mtime`` when given."""
    result = process(list(enumerate(_event(i, **fields) for i in ids)), _origin(layout.home),
                     layout, None)  # fmt: skip
    (path,) = result.files
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _ids(files: list[Path]) -> list[str]:
    return [i for path in files for i in pq.read_table(path, columns=["message_id"])["message_id"]
            .to_pylist()]  # fmt: skip


def _event_files(layout: Layout) -> list[Path]:
    return [path for paths in layout.landed_event_files().values() for path in paths]


def _rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def test_small_files_become_files_of_the_target_size_with_every_row_once(tmp_path: Path):
    layout = Layout(tmp_path)
    landed = [[f"m{f}-{k}" for k in range(50)] for f in range(30)]
    parts = [_land(layout, ids, mtime=1_000.0 + n) for n, ids in enumerate(landed)]
    # A quarantine day too: every request of this door had one invalid event.
    for _ in range(5):
        process([(0, {"type": "track"})], _origin(tmp_path), layout, None)
    quarantine_rows = pq.read_table(layout.quarantine_dir).num_rows

    report = compact(layout, target_rows=400, lock_timeout_seconds=5)

    files = _event_files(layout)
    # 1,500 rows at 400 a file: 400 + 400 + 400 + 300.
    assert sorted(_rows(path) for path in files) == [300, 400, 400, 400]
    assert sorted(_ids(files)) == sorted(i for ids in landed for i in ids)
    assert not any(path.exists() for path in parts)
    # Dated like their newest part: a build that read the parts does not read them again.
    assert {path.stat().st_mtime for path in files} == {1_029.0}
    assert len(list(layout.quarantine_dir.glob("*/*.parquet"))) == 1
    assert pq.read_table(layout.quarantine_dir).num_rows == quarantine_rows == 5
    assert (report.files_in, report.files_out, report.deferred) == (35, 5, 0)
    assert not list(tmp_path.rglob("*.tmp")) and not list(layout.compaction_dir.glob("*.json"))
    # A second pass finds one small file per partition: nothing to merge.
    assert compact(layout, target_rows=400, lock_timeout_seconds=5).merges == 0


def test_builds_read_exactly_the_rows_they_lack_after_compaction(tmp_path: Path):
    """Generation a read files 1-4 of the day, b files 1-7: compaction keeps them apart,
    so each still reads exactly the rows of the files it had not read."""
    layout = Layout(tmp_path)
    landed = [[f"f{n}-{k}" for k in range(10)] for n in range(10)]
    for n, ids in enumerate(landed):
        _land(layout, ids, mtime=1_000.0 + n)
    (day,) = layout.landed_event_files()
    a, b = Generation("a", layout), Generation("b", layout)
    a.save(BuildState(landed={day.isoformat(): 1_003.0}, lineage="x"))
    b.save(BuildState(landed={day.isoformat(): 1_006.0}, lineage="x"))

    compact(layout, target_rows=1_000, lock_timeout_seconds=5)

    assert len(_event_files(layout)) == 3  # files 1-4, 5-7, 8-10
    for generation, read in ((a, 4), (b, 7)):
        unread = _ids(new_files(layout, [day], generation.state()))
        assert sorted(unread) == sorted(i for ids in landed[read:] for i in ids)
    assert sorted(_ids(new_files(layout, None, BuildState()))) == sorted(
        i for ids in landed for i in ids
    )


def test_the_largest_file_is_rewritten_only_when_a_merge_grows_it(tmp_path: Path):
    layout = Layout(tmp_path)
    now = time.time()
    big = _land(layout, [f"big-{k}" for k in range(200)], mtime=now - 60)
    for n in range(3):
        _land(layout, [f"s{n}-{k}" for k in range(5)], mtime=now - 50 + n)
    compact(layout, target_rows=10_000, lock_timeout_seconds=5)
    # 15 rows would grow 200 by less than a tenth: the three small files merge alone.
    assert big.exists()
    assert sorted(_rows(path) for path in _event_files(layout)) == [15, 200]

    _land(layout, [f"more-{k}" for k in range(10)], mtime=now - 40)
    compact(layout, target_rows=10_000, lock_timeout_seconds=5)
    assert not big.exists()  # 25 rows more: a tenth of 200 reached
    assert [_rows(path) for path in _event_files(layout)] == [225]


def test_a_quiet_day_is_merged_whole(tmp_path: Path):
    layout = Layout(tmp_path)
    two_hours_ago = time.time() - 7_200
    _land(layout, [f"big-{k}" for k in range(200)], mtime=two_hours_ago)
    _land(layout, ["late"], mtime=two_hours_ago + 1)
    compact(layout, target_rows=10_000, lock_timeout_seconds=5)
    assert [_rows(path) for path in _event_files(layout)] == [201]


def test_a_file_whose_log_segment_may_land_again_is_not_merged(tmp_path: Path):
    """The collector lands a segment, then deletes it; killed between the two, its next
    start lands the segment again under the same name. Merging that file before would
    land its rows twice."""
    layout = Layout(tmp_path)
    first = _land(layout, ["a1", "a2"])
    second = _land(layout, ["b1", "b2"])
    segment = layout.collector_log_dir / "0" / "000000000007-abcdef012345.wal"
    segment.parent.mkdir(parents=True)
    segment.write_bytes(b"")
    first.rename(first.with_name(segment_file_name(segment)))
    assert compact(layout, target_rows=100, lock_timeout_seconds=5).merges == 0
    segment.unlink()
    assert compact(layout, target_rows=100, lock_timeout_seconds=5).merges == 1
    assert not second.exists()


def test_a_file_that_is_not_parquet_is_left_alone_and_the_rest_merged(tmp_path: Path):
    layout = Layout(tmp_path)
    first = _land(layout, ["a"])
    _land(layout, ["b"])
    junk = first.with_name("junk.parquet")
    junk.write_bytes(b"not parquet")
    assert compact(layout, target_rows=100, lock_timeout_seconds=5).merges == 1
    assert junk.exists() and len(list(first.parent.glob("*.parquet"))) == 2


def test_a_reader_holding_the_files_defers_the_swap(tmp_path: Path):
    layout = Layout(tmp_path)
    parts = [_land(layout, [f"m{n}"]) for n in range(3)]
    with reading_raw(layout):
        report = compact(layout, target_rows=100, lock_timeout_seconds=0.2)
        assert report.deferred == 1 and report.merges == 0
        assert sorted(_event_files(layout)) == sorted(parts)
    assert not list(tmp_path.rglob("*.tmp"))
    assert compact(layout, target_rows=100, lock_timeout_seconds=1).merges == 1


def test_a_second_compactor_skips_while_one_runs(tmp_path: Path):
    layout = Layout(tmp_path)
    for n in range(3):
        _land(layout, [f"m{n}"])
    results = []
    with reading_raw(layout):  # holds the first one in its swap
        first = threading.Thread(
            target=lambda: results.append(compact(layout, 100, lock_timeout_seconds=2))
        )
        first.start()
        time.sleep(0.5)
        assert compact(layout, 100, lock_timeout_seconds=1).skipped
    first.join()
    assert results[0].merges == 1


COMPACTOR = """
import sys
from pathlib import Path
from tests.test_compaction import _land
from ingestion.compaction import compact
from ringside.core.layout import Layout

layout, seed = Layout(Path(sys.argv[1])), sys.argv[2]
print("ready", flush=True)
round = 0
while True:
    for n in range(8):
        ids = [f"{seed}-{round}-{n}-{k}" for k in range(1 + n % 5)]
        _land(layout, ids)
        sys.stdout.write("".join(i + "\\n" for i in ids))
        sys.stdout.flush()
    compact(layout, target_rows=60, lock_timeout_seconds=5)
    round += 1
"""


def test_nothing_landed_is_lost_or_doubled_over_kills_during_compaction(tmp_path: Path):
    """kill -9 at random moments of a process that lands small files and compacts them
    into files of 60 rows (most of its time is spent merging and swapping); every event
    it reported landed is there after each kill, and once after the next pass recovers."""
    layout = Layout(tmp_path)
    root = Path(__file__).resolve().parents[1]
    rng = random.Random(7)
    landed: set[str] = set()
    for kill in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, "-c", COMPACTOR, str(tmp_path), str(kill)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        # From its first landed file on (a loaded machine may start it slowly).
        landed.add(child.stdout.readline().rstrip("\n"))
        time.sleep(rng.uniform(0.2, 1.2))
        os.kill(child.pid, signal.SIGKILL)
        landed |= {line.rstrip("\n") for line in child.stdout if line.endswith("\n")}
        child.wait(timeout=30)
        present = set(_ids(_event_files(layout)))
        assert not landed - present, f"kill {kill}: {len(landed - present)} landed events lost"

    report = compact(layout, target_rows=60, lock_timeout_seconds=5)
    counts = Counter(_ids(_event_files(layout)))
    assert len(landed) > 20 * KILLS
    # A file landed just before a kill, its ids not printed yet, is there too.
    assert landed <= set(counts)
    assert max(counts.values()) == 1, f"{report.recovered} swaps recovered, rows still doubled"
    assert not list(layout.compaction_dir.glob("*.json"))
    assert len(_event_files(layout)) <= len(counts) / 60 + 2 * len(layout.landed_event_files())


CRASH_IN_SWAP = """
import os, pathlib, signal, sys
from ingestion import compaction
from ringside.core.layout import Layout

def die_after(function):
    def step(*args, **kwargs):
        function(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    return step

# The process dies right after the first rename, or the first part deleted, of the swap.
if sys.argv[2] == "rename":
    compaction.os.replace = die_after(os.replace)
else:
    pathlib.Path.unlink = die_after(pathlib.Path.unlink)
compaction.compact(Layout(pathlib.Path(sys.argv[1])), target_rows=25, lock_timeout_seconds=5)
"""


@pytest.mark.parametrize("step", ["rename", "delete"])
def test_a_swap_cut_short_by_a_crash_is_finished_by_the_next_pass(tmp_path: Path, step: str):
    layout = Layout(tmp_path)
    landed = [f"m{n}-{k}" for n in range(6) for k in range(10)]
    for n in range(6):
        _land(layout, landed[n * 10 : (n + 1) * 10])
    root = Path(__file__).resolve().parents[1]
    child = subprocess.run(
        [sys.executable, "-c", CRASH_IN_SWAP, str(tmp_path), step],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL
    assert len(list(layout.compaction_dir.glob("*.json"))) == 1
    assert set(_ids(_event_files(layout))) == set(landed)  # some maybe twice, none lost

    assert compact(layout, target_rows=25, lock_timeout_seconds=5).recovered == 1
    assert sorted(_ids(_event_files(layout))) == sorted(landed)
    assert sorted(_rows(path) for path in _event_files(layout)) == [10, 25, 25]
    assert not list(layout.compaction_dir.glob("*.json"))


def test_batch_ingestion_compacts_what_it_landed(tmp_path: Path, monkeypatch):
    from ingestion.batch import ingest_paths
    from ringside.core.settings import Settings

    settings = Settings(home=tmp_path / "home", compaction_seconds=300)
    source = tmp_path / "events.ndjson"
    ids = [f"e{n}" for n in range(250)]
    source.write_text("".join(f'{{"messageId": "{i}", "type": "track", "event": "Video Played", '
                              f'"anonymousId": "d", "timestamp": "{date.today()}T12:00:00Z"}}\n'
                              for i in ids))  # fmt: skip
    report = ingest_paths([source], settings.layout.ensure(), settings, chunk_lines=50)
    files = _event_files(settings.layout)
    assert report.compaction is not None and report.compaction.files_in == 5
    assert len(files) == 1 and sorted(_ids(files)) == sorted(ids)
