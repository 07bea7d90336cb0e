"""Seed-volume benchmark: a large platform built in full, then fed as 5-minute micro-batches.

    python -m benchmarks.scale                                  # 50M events (~50 days)
    python -m benchmarks.scale --events 10000000                # 10M history (~10 days)
    python -m benchmarks.scale --events 500000 --batches 3      # proves the harness quickly
    python -m benchmarks.scale --events 10000000 --batches 0    # the whole held-back day
    python -m benchmarks.scale --events 10000000 --realtime --interval 300
    python -m benchmarks.scale --events 50000000 --prepare-only # generate + ingest only
    python -m benchmarks.scale ... --json out.json              # every figure as JSON
    python -m benchmarks.scale --baseline 10m.json              # growth vs a 10M run
    python -m benchmarks.scale --at HEAD ...                    # a clean copy of a commit

**The platform** is generated and ingested once and kept in a cache directory
(``--cache``, default ``/work/bench-cache/``), one folder per (events, seed)::

    <cache>/events-<N>-seed-<S>/input/       `ringside generate` output (one extra day)
    <cache>/events-<N>-seed-<S>/home/        pristine RINGSIDE_HOME: only `ringside ingest`
    <cache>/events-<N>-seed-<S>/platform.json  generation/ingestion seconds, events/s, RSS
    <cache>/events-<N>-seed-<S>/runs/<stamp>/  one benchmark run (default --workdir)

The history has ``--events`` events over ``--events / --events-per-day`` days (default
1M a day, the product's promise); the population is scaled so the generator emits about
that many (a probe run, as in benchmarks/pipeline.py). One more day is generated and
held back: it is played as micro-batches. Start the long ones in the background, niced
(``nohup nice -n 10 python -m benchmarks.scale --events 50000000 --prepare-only``). A
preparation that was stopped starts again where it can: generation is kept once its
manifest is written, an unfinished ingestion is redone from an empty home.

**Each run** copies the pristine home into a fresh run directory (``raw/`` hard-linked
with ``cp -al``: landed Parquet is append-only and never rewritten in place; the small
rest copied) and measures, on that copy:

1. floors (DuckDB, same threads/memory limit as the dbt profile): a scan of the landed
   events grouped by day with count(distinct anonymous_id); a sessionizing window
   function (lag over the device, ordered by event time, 30-minute timeout);
2. ``ringside build --all``: wall time, CPU seconds and peak RSS (largest process:
   ``wait4`` rusage; process tree: summed RSS polled from /proc);
3. ``ringside build`` at once again: nothing new (target <= 10 s);
4. micro-batches: the held-back day in event-time order, cut into batches of 5 minutes
   of that day (day / 288; ``--batch-events`` overrides). ``--batches N`` feeds the first
   N (0 = all 288) one after another: write NDJSON, ``ringside ingest`` (ack = when it
   returns), ``ringside build``; latency = published (the data version stamp written after
   the build's publish) - ack. ``--realtime``: a feeder thread ingests a batch every
   ``--interval`` seconds while a builder loop runs ``ringside build`` back to back
   whenever something new landed; a batch's latency = the publish of the first build
   that started after its ack - its ack;
5. disk: bytes per million landed events of the landed data and of the warehouse dir;
6. correctness: rows in fct_events (served copy) against a DuckDB count over the landed
   Parquet with int_events_sessionized's filters (no bots, no alias calls, one row per
   message_id).

``--at REV`` runs every child (generate, ingest, build) on a clean ``git archive`` copy
of a commit under ``<cache>/checkouts/``, so a run names the exact code it measured while
the work tree is being edited; without it the children run the work tree and the figures
list its changed files. Nothing is appended to RESULTS.md automatically. The run
directory is kept (``--clean`` removes it).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

REPO_ROOT = Path(__file__).resolve().parents[1]
RINGSIDE = Path(sys.executable).parent / "ringside"
DEFAULT_CACHE = Path("/work/bench-cache")
BATCHES_PER_DAY = 288  # 5-minute batches
SESSION_TIMEOUT_MINUTES = 30
# The dbt profile's DuckDB settings (dbt_project/profiles.yml), so floors and build
# run on the same engine budget.
DUCKDB_THREADS = 2
DUCKDB_MEMORY_LIMIT = os.environ.get("RINGSIDE_DUCKDB_MEMORY_LIMIT", "6GB")
MIB = 1024 * 1024


# --------------------------------------------------------------------------- processes


@dataclass
class Child:
    """One finished subprocess: wall time, exit code, peak memory."""

    kind: str
    argv: list[str]
    returncode: int
    started: float  # epoch seconds
    finished: float
    maxrss_mib: float  # largest single process of the tree (wait4 rusage)
    tree_peak_mib: float  # largest summed RSS of the tree, polled
    log: str
    cpu_s: float = 0.0  # user + system CPU of the tree (waited-for processes)

    @property
    def seconds(self) -> float:
        return self.finished - self.started


def _children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss_bytes(root: int) -> int:
    """Summed resident memory of a process and all its descendants (shared pages of
    forked workers are counted in each, so this is an upper bound)."""
    tree = _children_of()
    total, todo = 0, [root]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        todo.extend(tree.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page
        except OSError:
            continue
    return total


def run_child(
    kind: str,
    argv: Sequence[str],
    env: dict[str, str],
    log: Path,
    poll_s: float = 0.5,
    cwd: Path | None = None,
) -> Child:
    """Run ``argv``, output to ``log``; measure wall time and peak RSS of its tree."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        started = time.time()
        proc = subprocess.Popen(list(argv), env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        done = threading.Event()

        def poll() -> None:
            nonlocal peak
            while not done.wait(poll_s):
                peak = max(peak, tree_rss_bytes(proc.pid))

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        finished = time.time()
        done.set()
        poller.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Child(
        kind=kind,
        argv=list(argv),
        returncode=proc.returncode,
        started=started,
        finished=finished,
        maxrss_mib=usage.ru_maxrss / 1024,
        tree_peak_mib=peak / MIB,
        log=str(log),
        cpu_s=usage.ru_utime + usage.ru_stime,
    )


def checked(child: Child) -> Child:
    if child.returncode != 0:
        tail = Path(child.log).read_text(errors="replace").splitlines()[-30:]
        raise SystemExit(
            f"{child.kind} failed (exit {child.returncode}): {' '.join(child.argv)}\n"
            + "\n".join(tail)
        )
    return child


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()


def git_commit() -> dict[str, Any]:
    """The work tree the children run: HEAD and the tracked files changed beside it."""
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "dirty_files": dirty.splitlines(), "source": None}


def checkout(cache: Path, rev: str) -> Code:
    """A clean copy of ``rev`` (``git archive``) under ``<cache>/checkouts/<sha>``, for
    benchmarking a commit while the work tree is being edited."""
    sha = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    if not sha:
        raise SystemExit(f"--at {rev}: not a commit")
    target = cache / "checkouts" / sha
    if not target.exists():
        scratch = target.with_name(f".{sha}.tmp")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", sha], cwd=REPO_ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(scratch)], input=archive, check=True)
        os.replace(scratch, target)
    return Code(target, {"commit": sha, "dirty_files": [], "source": str(target)})


# --------------------------------------------------------------------------- platform


@dataclass(frozen=True)
class Platform:
    events: int
    seed: int
    days: int  # history days (one more is generated and held back)
    root: Path

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def info_path(self) -> Path:
        return self.root / "platform.json"

    def info(self) -> dict[str, Any]:
        try:
            return json.loads(self.info_path.read_text())
        except FileNotFoundError:
            return {}

    def save_info(self, info: dict[str, Any]) -> None:
        tmp = self.info_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(info, indent=2) + "\n")
        os.replace(tmp, self.info_path)

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.input_dir / "manifest.json").read_text())

    def held_back_file(self) -> Path:
        return self.input_dir / "events" / f"{self.manifest()['end']}.ndjson.gz"

    def history_files(self) -> list[Path]:
        held_back = self.held_back_file()
        days = sorted((self.input_dir / "events").glob("????-??-??.ndjson.gz"))
        snapshots = sorted((self.input_dir / "snapshots").glob("*.ndjson"))
        return [p for p in days if p != held_back] + snapshots


def platform_for(cache: Path, events: int, seed: int, days: int, default_days: int) -> Platform:
    name = f"events-{events}-seed-{seed}" + ("" if days == default_days else f"-days-{days}")
    return Platform(events=events, seed=seed, days=days, root=cache / name)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One preparer per platform folder at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Code:
    """Which code the children run: the work tree, or a clean copy of a commit."""

    source: Path | None  # None: the work tree (the venv's editable install)
    ran_on: dict[str, Any]

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ) | extra
        env.pop("DAGSTER_HOME", None)
        if self.source is not None:
            # The copy's packages come first on the path (the venv's editable install
            # points at the work tree), and its dbt project with them.
            env["PYTHONPATH"] = os.pathsep.join(
                [str(self.source), *filter(None, [os.environ.get("PYTHONPATH")])]
            )
        return env


def generate_argv(out: Path, days: int, users: int, seed: int) -> list[str]:
    return [
        str(RINGSIDE),
        "generate",
        "--out",
        str(out),
        "--days",
        str(days),
        "--users",
        str(users),
        "--seed",
        str(seed),
    ]


def users_for(events: int, days: int, seed: int, root: Path, code: Code) -> tuple[int, int]:
    """Population whose `days` of activity hold about `events` events (a 2,000-person
    probe of the same length; events per person depend on the period's length)."""
    probe_users, probe_dir = 2000, root / "probe"
    argv = generate_argv(probe_dir, days, probe_users, seed)
    checked(run_child("probe", argv, code.env(), root / "logs" / "probe.log", cwd=code.source))
    written = int(json.loads((probe_dir / "manifest.json").read_text())["events_written"])
    shutil.rmtree(probe_dir, ignore_errors=True)
    return max(1, round(events * probe_users / written)), written


INGEST_TOTAL = re.compile(r"total: .*?([\d,]+) lines, ([\d,]+) accepted, ([\d,]+) quarantined")


def ingest_totals(log: Path) -> dict[str, int]:
    matches = INGEST_TOTAL.findall(log.read_text(errors="replace"))
    if not matches:
        return {}
    lines, accepted, quarantined = (int(v.replace(",", "")) for v in matches[-1])
    return {"lines": lines, "accepted": accepted, "quarantined": quarantined}


def prepare(
    platform: Platform, workers: int, code: Code, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Generate and ingest the platform unless the cache already holds it."""
    with locked(platform.root / ".lock"):
        info = platform.info()
        if info.get("ingest"):
            return info
        logs = platform.root / "logs"
        if not info.get("generate") or not (platform.input_dir / "manifest.json").exists():
            log(f"probing the population for {platform.events:,} events in {platform.days} days")
            users, probe_events = users_for(
                platform.events, platform.days, platform.seed, platform.root, code
            )
            log(f"generating {platform.days + 1} days for {users:,} people -> {platform.input_dir}")
            child = checked(
                run_child(
                    "generate",
                    generate_argv(platform.input_dir, platform.days + 1, users, platform.seed),
                    code.env(),
                    logs / "generate.log",
                    poll_s=5.0,
                    cwd=code.source,
                )
            )
            manifest = platform.manifest()
            info = {
                "events_target": platform.events,
                "seed": platform.seed,
                "history_days": platform.days,
                "generated_days": platform.days + 1,
                "users": users,
                "probe": {"users": 2000, "events": probe_events},
                "nice": os.nice(0),
                "generate": {
                    **code.ran_on,
                    "seconds": child.seconds,
                    "events_written": manifest["events_written"],
                    "events_per_s": manifest["events_written"] / child.seconds,
                    "maxrss_mib": child.maxrss_mib,
                    "cpu_s": child.cpu_s,
                    "started": _iso(child.started),
                },
                "first_day": manifest["start"],
                "held_back_day": manifest["end"],
            }
            platform.save_info(info)
        if platform.home.exists():  # an ingestion that did not finish: start it again
            shutil.rmtree(platform.home)
        files = platform.history_files()
        log(f"ingesting {len(files)} files into {platform.home}")
        child = checked(
            run_child(
                "ingest",
                [str(RINGSIDE), "ingest", *map(str, files), "--workers", str(workers)],
                code.env(RINGSIDE_HOME=str(platform.home)),
                logs / "ingest.log",
                poll_s=5.0,
                cwd=code.source,
            )
        )
        totals = ingest_totals(logs / "ingest.log")
        info["ingest"] = {
            **code.ran_on,
            "seconds": child.seconds,
            "workers": workers,
            **totals,
            "events_per_s": totals.get("lines", 0) / child.seconds,
            "maxrss_mib": child.maxrss_mib,
            "cpu_s": child.cpu_s,
            "tree_peak_mib": child.tree_peak_mib,
            "started": _iso(child.started),
        }
        info["landed"] = {
            "raw_events_bytes": dir_bytes(platform.home / "raw" / "events"),
            "home_bytes": dir_bytes(platform.home),
        }
        platform.save_info(info)
        return info


def copy_home(pristine: Path, target: Path) -> None:
    """A run's home: ``raw/`` hard-linked (append-only files), everything else copied."""
    target.mkdir(parents=True)
    for entry in sorted(pristine.iterdir()):
        flags = "-al" if entry.name == "raw" else "-a"
        subprocess.run(["cp", flags, str(entry), str(target / entry.name)], check=True)


def dir_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


# --------------------------------------------------------------------------- floors

READ_LANDED = (
    "read_parquet('{glob}', hive_partitioning = true, hive_types_autocast = false, "
    "hive_types = {{'event_date': DATE}})"
)

SCAN_FLOOR = """
select event_date, count(*) as events, count(distinct anonymous_id) as devices
from {landed}
group by event_date
order by event_date
"""

WINDOW_FLOOR = """
select count(*) as events, sum(is_start) as sessions
from (
    select
        case
            when lag(event_time) over device_events is null then 1
            when event_time - lag(event_time) over device_events
                > interval {timeout} minute then 1
            else 0
        end as is_start
    from {landed}
    window device_events as (
        partition by coalesce(anonymous_id, 'user:' || user_id)
        order by event_time, message_id
    )
)
"""

# int_events_sessionized: no bots, no alias calls; staging keeps one row per message_id.
EXPECTED_FCT_EVENTS = """
select count(distinct message_id)
from {landed}
where device_type is distinct from 'bot' and type is distinct from 'alias'
"""

# Run in a child process so each floor's peak memory is its own.
DUCKDB_CHILD = """
import json, sys, time
import duckdb
spec = json.loads(sys.argv[1])
con = duckdb.connect(config={
    "threads": spec["threads"], "memory_limit": spec["memory_limit"],
    "preserve_insertion_order": False, "temp_directory": spec["temp_directory"],
})
t0 = time.perf_counter()
rows = con.execute(spec["sql"]).fetchall()
seconds = time.perf_counter() - t0
print("RESULT " + json.dumps({"seconds": seconds, "rows": rows}, default=str))
"""


def duckdb_child(
    kind: str, sql: str, env: dict[str, str], run_dir: Path
) -> tuple[Child, dict[str, Any]]:
    spec = {
        "sql": sql,
        "threads": DUCKDB_THREADS,
        "memory_limit": DUCKDB_MEMORY_LIMIT,
        "temp_directory": str(run_dir / "duckdb_tmp"),
    }
    log = run_dir / "logs" / f"{kind}.log"
    child = checked(
        run_child(kind, [sys.executable, "-c", DUCKDB_CHILD, json.dumps(spec)], env, log)
    )
    line = [x for x in log.read_text().splitlines() if x.startswith("RESULT ")][-1]
    return child, json.loads(line.removeprefix("RESULT "))


# --------------------------------------------------------------------------- batches


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


# --------------------------------------------------------------------------- report


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (no interpolation above the largest value)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def spread(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "n": len(values),
        "p50": statistics.median(values) if values else None,
        "p95": percentile(values, 95),
        "max": max(values) if values else None,
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(rows: list[tuple[str, Any, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(_fmt(r[1])) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {_fmt(value):>{vwidth}}  {note}".rstrip())


def peaks_by_kind(children: list[Child]) -> dict[str, dict[str, float]]:
    kinds: dict[str, dict[str, float]] = {}
    for child in children:
        k = kinds.setdefault(child.kind, {"maxrss_mib": 0.0, "tree_peak_mib": 0.0, "count": 0})
        k["maxrss_mib"] = max(k["maxrss_mib"], child.maxrss_mib)
        k["tree_peak_mib"] = max(k["tree_peak_mib"], child.tree_peak_mib)
        k["count"] += 1
    return kinds


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


# --------------------------------------------------------------------------- main


def benchmark(
    args: argparse.Namespace, platform: Platform, info: dict[str, Any], code: Code
) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = args.workdir or platform.root / "runs" / stamp
    if run_dir.exists() and any(run_dir.iterdir()):
        raise SystemExit(f"{run_dir} is not empty: give a fresh --workdir")
    home = run_dir / "home"
    print(f"run directory {run_dir}", flush=True)
    t0 = time.perf_counter()
    copy_home(platform.home, home)
    copy_s = time.perf_counter() - t0
    build_args = ["--no-models"] if args.no_models else []
    runner = Runner(home, run_dir, build_args, code)
    glob = str(home / "raw" / "events" / "*" / "*.parquet")
    landed = READ_LANDED.format(glob=glob)
    figures: dict[str, Any] = {
        "platform": {k: v for k, v in info.items() if k != "dirty_files"},
        "run": {
            "run_dir": str(run_dir),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            **code.ran_on,
            "copy_home_s": copy_s,
            "build_args": build_args,
            "duckdb": {"threads": DUCKDB_THREADS, "memory_limit": DUCKDB_MEMORY_LIMIT},
        },
    }

    print("floors: scan ...", flush=True)
    scan_child, scan = duckdb_child(
        "scan_floor", SCAN_FLOOR.format(landed=landed), runner.env, run_dir
    )
    history_events = sum(int(row[1]) for row in scan["rows"])
    print("floors: window ...", flush=True)
    window_child, window = duckdb_child(
        "window_floor",
        WINDOW_FLOOR.format(landed=landed, timeout=SESSION_TIMEOUT_MINUTES),
        runner.env,
        run_dir,
    )
    runner.children += [scan_child, window_child]
    figures["floors"] = {
        "landed_events": history_events,
        "landed_days": len(scan["rows"]),
        "scan_s": scan["seconds"],
        "scan_child_s": scan_child.seconds,
        "scan_cpu_s": scan_child.cpu_s,
        "scan_maxrss_mib": scan_child.maxrss_mib,
        "window_s": window["seconds"],
        "window_child_s": window_child.seconds,
        "window_cpu_s": window_child.cpu_s,
        "window_maxrss_mib": window_child.maxrss_mib,
        "window_sessions": window["rows"][0][1],
    }

    print("full build: ringside build --all ...", flush=True)
    full = runner.build("build_full", "--all")
    checked(full.child)
    figures["full_build"] = {
        "seconds": full.child.seconds,
        "publish_after_s": None if full.published is None else full.published - full.child.started,
        "maxrss_mib": full.child.maxrss_mib,
        "cpu_s": full.child.cpu_s,
        "tree_peak_mib": full.child.tree_peak_mib,
        "log": full.child.log,
    }
    figures["disk_after_full_build"] = disk(home, history_events)

    print("nothing new: ringside build ...", flush=True)
    again = runner.build("build_nothing_new")
    checked(again.child)
    figures["nothing_new"] = {
        "seconds": again.child.seconds,
        "published_new_version": again.published is not None,
        "maxrss_mib": again.child.maxrss_mib,
        "cpu_s": again.child.cpu_s,
        "log": again.child.log,
    }

    print(f"cutting the held-back day {platform.held_back_file().name} ...", flush=True)
    all_batches, size = cut_batches(platform.held_back_file(), args.batch_events)
    chosen = all_batches if args.batches == 0 else all_batches[: args.batches]
    print(
        f"micro-batches ({'realtime' if args.realtime else 'sequential'}): {len(chosen)} of "
        f"{len(all_batches)} batches of {size:,} events",
        flush=True,
    )
    batch_dir = run_dir / "batches"
    if args.realtime:
        micro = realtime(runner, chosen, batch_dir, args.interval)
    else:
        micro = sequential(runner, chosen, batch_dir)
    build_times = [b["seconds"] for b in micro.builds]
    latencies = [b.latency_s for b in micro.batches if b.latency_s is not None]
    figures["micro_batches"] = {
        "mode": micro.mode,
        "interval_s": args.interval if args.realtime else None,
        "batch_events": size,
        "held_back_day_events": sum(map(len, all_batches)),
        "batches_fed": len(micro.batches),
        "events_fed": sum(b.events for b in micro.batches),
        "builds": len(micro.builds),
        "failed_builds": micro.failed_builds,
        "build_s": spread(build_times),
        "build_cpu_s": spread([b["cpu_s"] for b in micro.builds]),
        "latency_s": spread(latencies),
        "end_to_end_s": spread([b.end_to_end_s for b in micro.batches if b.end_to_end_s]),
        "ingest_s": spread([b.ingest_s for b in micro.batches]),
        "per_batch": [
            asdict(b) | {"latency_s": b.latency_s, "end_to_end_s": b.end_to_end_s}
            for b in micro.batches
        ],
        "per_build": micro.builds,
    }

    print("correctness and disk ...", flush=True)
    landed_now = dir_bytes(home / "raw" / "events")
    _, expected = duckdb_child(
        "expected_fct_events", EXPECTED_FCT_EVENTS.format(landed=landed), runner.env, run_dir
    )
    _, total = duckdb_child("landed_count", f"select count(*) from {landed}", runner.env, run_dir)
    import duckdb

    with duckdb.connect(str(home / "serving" / "ringside.duckdb"), read_only=True) as con:
        fct_rows = con.execute("select count(*) from fct_events").fetchone()
    landed_events_now = int(total["rows"][0][0])
    figures["correctness"] = {
        "fct_events_rows": int(fct_rows[0]) if fct_rows else None,
        "expected_from_landed": int(expected["rows"][0][0]),
    }
    figures["correctness"]["match"] = (
        figures["correctness"]["fct_events_rows"] == figures["correctness"]["expected_from_landed"]
    )
    figures["disk_at_end"] = disk(home, landed_events_now) | {"raw_events_bytes": landed_now}
    figures["peak_rss_by_kind"] = peaks_by_kind(runner.children)
    figures["ratios"] = {
        "full_build_over_scan_floor": ratio(figures["full_build"]["seconds"], scan["seconds"]),
        "full_build_over_window_floor": ratio(figures["full_build"]["seconds"], window["seconds"]),
        # CPU seconds (build tree vs floor process): steadier when other work shares the cores.
        "full_build_cpu_over_scan_floor_cpu": ratio(
            figures["full_build"]["cpu_s"], figures["floors"]["scan_cpu_s"]
        ),
        "micro_build_p95_over_scan_floor": ratio(
            figures["micro_batches"]["build_s"]["p95"], scan["seconds"]
        ),
        "micro_latency_p95_over_scan_floor": ratio(
            figures["micro_batches"]["latency_s"]["p95"], scan["seconds"]
        ),
    }
    figures["run"]["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    if args.clean:
        shutil.rmtree(run_dir)
    return figures


def disk(home: Path, events: int) -> dict[str, Any]:
    raw = dir_bytes(home / "raw" / "events")
    warehouse = dir_bytes(home / "warehouse")
    serving = dir_bytes(home / "serving")  # a link (two generations) or a copy
    served = home / "serving" / "ringside.duckdb"
    per_m = 1e6 / events if events else 0.0
    return {
        "landed_events": events,
        "raw_events_bytes": raw,
        "warehouse_bytes": warehouse,
        "warehouse_files": {
            p.name: p.stat().st_size for p in sorted((home / "warehouse").glob("*")) if p.is_file()
        },
        "serving_bytes": serving,
        "serving_is_link": served.is_symlink(),
        "raw_bytes_per_m_events": raw * per_m,
        "warehouse_bytes_per_m_events": warehouse * per_m,
    }


def report(f: dict[str, Any]) -> None:
    p, r, fl, mb = f["platform"], f["run"], f["floors"], f["micro_batches"]
    gen, ing = p.get("generate", {}), p.get("ingest", {})
    scan_s = fl["scan_s"]
    end = f["disk_at_end"]
    rows: list[tuple[str, Any, str]] = [
        (
            "commit",
            r["commit"][:12],
            f"clean copy in {r['source']}"
            if r["source"]
            else f"work tree, {len(r['dirty_files'])} tracked files changed"
            if r["dirty_files"]
            else "work tree, clean",
        ),
        ("platform", f"{p['users']:,} people", f"{p['history_days']} days + 1 held back"),
        (
            "generation",
            gen.get("seconds"),
            f"s, {_fmt(gen.get('events_per_s'))} events/s, "
            f"{_fmt(gen.get('events_written'))} lines, RSS {_fmt(gen.get('maxrss_mib'))} MiB",
        ),
        (
            "ingestion",
            ing.get("seconds"),
            f"s, {_fmt(ing.get('events_per_s'))} events/s, "
            f"{ing.get('workers')} workers, RSS {_fmt(ing.get('maxrss_mib'))} MiB/process",
        ),
        ("landed events (history)", fl["landed_events"], f"over {fl['landed_days']} days"),
        ("scan floor", scan_s, "s  (count(distinct anonymous_id) by day)"),
        (
            "window floor",
            fl["window_s"],
            f"s  (lag over device by time: {_fmt(fl['window_sessions'])} sessions)",
        ),
        (
            "full build (build --all)",
            f["full_build"]["seconds"],
            f"s  = {_fmt(f['ratios']['full_build_over_scan_floor'])}x scan floor (target <= 40x), "
            f"{_fmt(f['ratios']['full_build_over_window_floor'])}x window floor",
        ),
        (
            "  CPU (build tree / scan floor)",
            f["full_build"].get("cpu_s"),
            f"CPU s / {_fmt(f['floors'].get('scan_cpu_s'))} CPU s = "
            f"{_fmt(f['ratios'].get('full_build_cpu_over_scan_floor_cpu'))}x",
        ),
        (
            "  peak RSS largest / tree",
            f["full_build"]["maxrss_mib"],
            f"MiB / {_fmt(f['full_build']['tree_peak_mib'])} MiB (target <= 8192 per process)",
        ),
        (
            "nothing new (build)",
            f["nothing_new"]["seconds"],
            "s  (target <= 10 s)"
            + ("; it published a new version" if f["nothing_new"]["published_new_version"] else ""),
        ),
        (
            "micro-batches",
            mb["batches_fed"],
            f"{mb['mode']}, {mb['batch_events']:,} events "
            f"each, {mb['builds']} builds, {mb['failed_builds']} without a new version",
        ),
    ]
    for label, key, note in (
        ("  build", "build_s", "s"),
        ("  ack -> published", "latency_s", "s  (target p95 <= 300 s)"),
        ("  ingest start -> published", "end_to_end_s", "s  (target <= 60 s at 50M)"),
        ("  ingest", "ingest_s", "s"),
        ("  build CPU", "build_cpu_s", "CPU s"),
    ):
        s = mb.get(key, {})
        rows.append((f"{label} p50", s.get("p50"), note))
        rows.append((f"{label} p95", s.get("p95"), note))
        rows.append((f"{label} max", s.get("max"), note))
    rows.append(("  build p95 / scan floor", f["ratios"]["micro_build_p95_over_scan_floor"], "x"))
    rows.append(
        ("  latency p95 / scan floor", f["ratios"]["micro_latency_p95_over_scan_floor"], "x")
    )
    for kind, peak in sorted(f["peak_rss_by_kind"].items()):
        rows.append(
            (
                f"peak RSS {kind}",
                peak["maxrss_mib"],
                f"MiB largest process, {_fmt(peak['tree_peak_mib'])} MiB tree, "
                f"{int(peak['count'])} runs",
            )
        )
    rows += [
        (
            "landed MiB / M events",
            end["raw_bytes_per_m_events"] / MIB,
            f"({_fmt(end['raw_events_bytes'] / MIB)} MiB for {end['landed_events']:,} events)",
        ),
        (
            "warehouse dir MiB / M events",
            end["warehouse_bytes_per_m_events"] / MIB,
            f"({_fmt(end['warehouse_bytes'] / MIB)} MiB: "
            + ", ".join(
                f"{name} {_fmt(size / MIB)}"
                for name, size in end.get("warehouse_files", {}).items()
            )
            + (
                "; serving is a link"
                if end.get("serving_is_link")
                else f"; serving copy {_fmt(end['serving_bytes'] / MIB)} MiB"
            )
            + ")",
        ),
        ("fct_events rows", f["correctness"]["fct_events_rows"], ""),
        (
            "expected from landed",
            f["correctness"]["expected_from_landed"],
            "distinct message_id, no bots, no alias"
            + (
                ""
                if f["correctness"]["match"]
                else "  MISMATCH"
                + (
                    f" ({mb['failed_builds']} micro-batch builds published nothing)"
                    if mb["failed_builds"]
                    else ""
                )
            ),
        ),
    ]
    growth = f.get("growth")
    if growth:
        rows.append(
            (
                "vs baseline history",
                f"{growth['baseline_events']:,} events",
                f"from {growth['baseline_json']}",
            )
        )
        for key, label in GROWTH_FIGURES:
            rows.append((f"  {label}", growth.get(key), "x  (target micro-batch <= 1.5x)"))
    print()
    print_table(rows)


# (key in the figures' growth section, label): this run's figure / the baseline run's.
GROWTH_FIGURES = (
    ("full_build", "full build"),
    ("micro_build_p95", "micro-batch build p95"),
    ("micro_end_to_end_p95", "micro-batch ingest start -> published p95"),
    ("micro_latency_p95", "micro-batch ack -> published p95"),
)


def growth(figures: dict[str, Any], baseline_json: Path) -> dict[str, Any]:
    """This run against a run on a shorter history (its --json), figure by figure."""

    def pick(f: dict[str, Any]) -> dict[str, float | None]:
        mb = f["micro_batches"]
        return {
            "full_build": f["full_build"]["seconds"],
            "micro_build_p95": mb["build_s"]["p95"],
            "micro_end_to_end_p95": mb.get("end_to_end_s", {}).get("p95"),
            "micro_latency_p95": mb["latency_s"]["p95"],
        }

    base = json.loads(baseline_json.read_text())
    mine, theirs = pick(figures), pick(base)
    return {
        "baseline_json": str(baseline_json),
        "baseline_events": base["floors"]["landed_events"],
        "baseline_commit": base["run"]["commit"],
        **{key: ratio(mine[key], theirs[key]) for key, _ in GROWTH_FIGURES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=50_000_000, help="History events.")
    parser.add_argument("--events-per-day", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=None, help="Default: events / per day.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="Default: <platform>/runs/<stamp>."
    )
    parser.add_argument("--workers", type=int, default=2, help="Ingestion workers (platform).")
    parser.add_argument("--batches", type=int, default=12, help="0 = the whole day (288).")
    parser.add_argument("--batch-events", type=int, default=None, help="Default: day / 288.")
    parser.add_argument("--realtime", action="store_true")
    parser.add_argument("--interval", type=float, default=300.0, help="Realtime: s per batch.")
    parser.add_argument("--no-models", action="store_true", help="Pass --no-models to builds.")
    parser.add_argument("--prepare-only", action="store_true", help="Generate + ingest, stop.")
    parser.add_argument(
        "--at",
        default=None,
        metavar="REV",
        help="Run the builds on a clean copy of this commit (git archive), not the work tree.",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="JSON",
        help="The --json of a run on a shorter history (10M): growth ratios against it.",
    )
    parser.add_argument("--json", type=Path, default=None, help="Write every figure here.")
    parser.add_argument("--clean", action="store_true", help="Remove the run directory after.")
    args = parser.parse_args()
    default_days = max(1, round(args.events / args.events_per_day))
    days = args.days or default_days
    args.cache = args.cache.resolve()
    platform = platform_for(args.cache, args.events, args.seed, days, default_days)
    code = Code(None, git_commit()) if args.at is None else checkout(args.cache, args.at)
    print(f"running {code.ran_on['commit'][:12]} from {code.source or 'the work tree'}")
    info = prepare(platform, args.workers, code, log=lambda m: print(m, flush=True))
    print(
        f"platform {platform.root}: generated in {info['generate']['seconds']:.0f} s, "
        f"ingested in {info['ingest']['seconds']:.0f} s",
        flush=True,
    )
    if args.prepare_only:
        return
    figures = benchmark(args, platform, info, code)
    if args.baseline:
        figures["growth"] = growth(figures, args.baseline)
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
        print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
