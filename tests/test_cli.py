"""The CLI answers wrong input with one clear line, never a traceback."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

RINGSIDE = str(Path(sys.executable).parent / "ringside")


def ringside(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RINGSIDE, *args],
        env={**os.environ, "RINGSIDE_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "/no/such/file.ndjson"], "no such file or directory: /no/such/file.ndjson"),
        (["build"], "no landed events"),
        (["build", "--partition", "2026-13-01"], "Invalid value for '--partition'"),
        (["build", "--partition", "2026-08-01", "--all"], "either --partition DAY or --all"),
        (["generate", "--out", "x", "--days", "0"], "Invalid value for '--days'"),
    ],
)
def test_wrong_input_gets_one_clear_error(tmp_path: Path, args: list[str], message: str):
    result = ringside(tmp_path / "home", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_status_on_a_fresh_home_says_nothing_is_built(tmp_path: Path):
    result = ringside(tmp_path / "home", "status")
    assert result.returncode == 0, result.stderr
    assert "nothing built yet" in result.stdout
    assert "last build         none recorded yet" in result.stdout


def test_unknown_file_type_is_named(tmp_path: Path):
    odd = tmp_path / "events.csv"
    odd.write_text("a,b\n")
    result = ringside(tmp_path / "home", "ingest", str(odd))
    assert result.returncode == 2
    assert str(odd) in result.stderr
    assert "Traceback" not in result.stderr


def test_compact_merges_the_small_files_a_batch_landed(tmp_path: Path):
    home = tmp_path / "home"
    day = datetime.now(UTC).date()
    source = tmp_path / "events.ndjson"
    source.write_text(
        "".join(
            f'{{"messageId": "m{n}", "type": "page", "anonymousId": "d", '
            f'"timestamp": "{day}T00:00:{n:02d}Z"}}\n'
            for n in range(30)
        )
    )
    # The tests turn compaction after landing off (conftest.py), so each ingestion of
    # the file leaves its one file.
    for _ in range(3):
        ringside(home, "ingest", "--force", str(source))
    partition = home / "raw" / "events" / f"event_date={day}"
    assert len(list(partition.glob("*.parquet"))) == 3
    result = ringside(home, "compact")
    assert result.returncode == 0, result.stderr
    assert "3 files -> 1 (90 rows)" in result.stdout
    assert len(list(partition.glob("*.parquet"))) == 1
