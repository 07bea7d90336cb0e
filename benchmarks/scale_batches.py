"""The scale benchmark's micro-batches: the held-back day fed in 5-minute batches.

:func:`cut_batches` puts the held-back day's lines in event-time order and cuts them;
a :class:`Runner` drives `ringside ingest` and `ringside build` against one run home,
keeping every child's figures and when each build published a new data version;
:func:`sequential` ingests and builds one batch after another, :func:`realtime` feeds a
batch every interval from a thread while builds run back to back.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from benchmarks.harness import RINGSIDE, Child, Code, checked, run_child

BATCHES_PER_DAY = 288  # 5-minute batches


def _ms(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def event_time_key(line: bytes, previous: float) -> float:
    """Event time as ingestion computes it (receivedAt - (sentAt - timestamp)); the
    arrival time when a clock is missing; the previous line's for unreadable lines."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return previous
    if not isinstance(event, dict):
        return previous
    received, sent, stamp = (_ms(event.get(k)) for k in ("receivedAt", "sentAt", "timestamp"))
    if received is not None and sent is not None and stamp is not None:
        return received - (sent - stamp)
    for value in (stamp, received):
        if value is not None:
            return value
    return previous


def cut_batches(held_back: Path, batch_events: int | None) -> tuple[list[list[bytes]], int]:
    """The held-back day's lines in event-time order (stable), cut into batches."""
    import gzip

    keyed: list[tuple[float, int, bytes]] = []
    previous = 0.0
    with gzip.open(held_back, "rb") as f:
        for index, raw in enumerate(f):
            line = raw.rstrip(b"\n")
            if not line.strip():
                continue
            previous = event_time_key(line, previous)
            keyed.append((previous, index, line))
    keyed.sort()
    size = batch_events or math.ceil(len(keyed) / BATCHES_PER_DAY)
    lines = [line for _, _, line in keyed]
    return [lines[i : i + size] for i in range(0, len(lines), size)], size


def write_batch(directory: Path, number: int, lines: list[bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"batch-{number:04d}.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


# --------------------------------------------------------------------------- builds


def published_at(home: Path) -> tuple[str | None, float | None]:
    """The data version stamp and when it was written (epoch seconds)."""
    path = home / "state" / "data_version"
    try:
        stamp = path.read_text().strip()
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None, None
    match = re.match(r"(\d{8}T\d{6}\.\d+)Z", stamp)
    if match:
        moment = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
        return stamp, moment.timestamp()
    return stamp, mtime


@dataclass
class Build:
    child: Child
    published: float | None  # None: no new data version (nothing new, or failed)
    stamp: str | None


class Runner:
    """Drives the `ringside` CLI against one run home, keeping every child's figures."""

    def __init__(self, home: Path, run_dir: Path, build_args: Sequence[str], code: Code) -> None:
        self.home = home
        self.run_dir = run_dir
        self.build_args = list(build_args)
        self.env = code.env(RINGSIDE_HOME=str(home))
        self.cwd = code.source
        self.children: list[Child] = []
        self._lock = threading.Lock()
        self._count = 0

    def _log(self, kind: str) -> Path:
        with self._lock:
            self._count += 1
            return self.run_dir / "logs" / f"{self._count:04d}-{kind}.log"

    def run(self, kind: str, argv: Sequence[str]) -> Child:
        child = run_child(kind, argv, self.env, self._log(kind), cwd=self.cwd)
        with self._lock:
            self.children.append(child)
        return child

    def build(self, kind: str, *extra: str) -> Build:
        before, _ = published_at(self.home)
        child = self.run(kind, [str(RINGSIDE), "build", *extra, *self.build_args])
        stamp, at = published_at(self.home)
        new = stamp is not None and stamp != before and child.returncode == 0
        return Build(child, at if new else None, stamp if new else None)

    def ingest(self, path: Path) -> Child:
        return checked(self.run("ingest_batch", [str(RINGSIDE), "ingest", str(path)]))


@dataclass
class BatchFigures:
    number: int
    events: int
    ack: float
    ingest_s: float
    build_s: float | None = None  # sequential mode: the build after this batch
    published: float | None = None

    @property
    def latency_s(self) -> float | None:
        """Acknowledged (ingest returned) -> in the published marts."""
        return None if self.published is None else self.published - self.ack

    @property
    def end_to_end_s(self) -> float | None:
        """Ingest started -> in the published marts."""
        return None if self.published is None else self.published - self.ack + self.ingest_s


@dataclass
class MicroBatches:
    mode: str
    batch_events: int
    batches: list[BatchFigures] = field(default_factory=list)
    builds: list[dict[str, Any]] = field(default_factory=list)
    failed_builds: int = 0


def sequential(runner: Runner, batches: list[list[bytes]], batch_dir: Path) -> MicroBatches:
    figures = MicroBatches("sequential", len(batches[0]) if batches else 0)
    for number, lines in enumerate(batches, 1):
        path = write_batch(batch_dir, number, lines)
        ingest = runner.ingest(path)
        build = runner.build("build_batch")
        if build.published is None:
            figures.failed_builds += 1
        batch = BatchFigures(number, len(lines), ingest.finished, ingest.seconds)
        batch.build_s, batch.published = build.child.seconds, build.published
        figures.batches.append(batch)
        figures.builds.append(_build_row(build, number))
        print(
            f"  batch {number:>3}: {len(lines):,} events, ingest {ingest.seconds:.1f} s, "
            f"build {build.child.seconds:.1f} s, latency "
            + (f"{batch.latency_s:.1f} s" if batch.latency_s is not None else "n/a (build failed)"),
            flush=True,
        )
    return figures


def realtime(
    runner: Runner, batches: list[list[bytes]], batch_dir: Path, interval: float
) -> MicroBatches:
    figures = MicroBatches("realtime", len(batches[0]) if batches else 0)
    acked: list[BatchFigures] = []
    lock = threading.Lock()
    feeder_done = threading.Event()
    errors: list[BaseException] = []
    t0 = time.time()

    def feed() -> None:
        try:
            for number, lines in enumerate(batches, 1):
                delay = t0 + (number - 1) * interval - time.time()
                if delay > 0:
                    time.sleep(delay)
                path = write_batch(batch_dir, number, lines)
                ingest = runner.ingest(path)
                with lock:
                    acked.append(BatchFigures(number, len(lines), ingest.finished, ingest.seconds))
                print(f"  fed batch {number}: {len(lines):,} events", flush=True)
        except BaseException as error:  # reported by the builder loop
            errors.append(error)
        finally:
            feeder_done.set()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    built_upto = 0  # batches acked before the start of the last build
    while True:
        with lock:
            pending = len(acked) - built_upto
        if errors:
            raise SystemExit(f"feeder failed: {errors[0]}")
        if pending == 0:
            if feeder_done.is_set() and len(acked) == built_upto:
                break
            time.sleep(1.0)
            continue
        with lock:
            upto = len(acked)
        started = time.time()
        build = runner.build("build_batch")
        if build.published is None:
            figures.failed_builds += 1
        else:
            with lock:
                for batch in acked:
                    if batch.published is None and batch.ack < started:
                        batch.published = build.published
            built_upto = upto
        figures.builds.append(_build_row(build, upto))
        print(
            f"  build after batch {upto}: {build.child.seconds:.1f} s"
            + ("" if build.published is not None else " (no new data version)"),
            flush=True,
        )
        if build.published is None and figures.failed_builds > 3:
            raise SystemExit("more than 3 micro-batch builds failed; see the run logs")
    feeder.join()
    figures.batches = acked
    return figures


def _build_row(build: Build, after_batch: int) -> dict[str, Any]:
    return {
        "after_batch": after_batch,
        "seconds": build.child.seconds,
        "returncode": build.child.returncode,
        "published": build.published,
        "maxrss_mib": build.child.maxrss_mib,
        "cpu_s": build.child.cpu_s,
        "tree_peak_mib": build.child.tree_peak_mib,
        "log": build.child.log,
    }
