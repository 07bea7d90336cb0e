"""Measurement harness for benchmarks that run the product as child processes.

What any benchmark here may reuse: a child process run to a log with its wall time, CPU
seconds and peak memory (``wait4`` rusage for the largest process, summed RSS of the
process tree polled from /proc); the environment children get; which code they run (the
work tree, or a clean ``git archive`` copy of a commit); an exclusive file lock; the
size of a directory; and the figures' arithmetic and printing (nearest-rank
percentiles, p50/p95/max spreads, ratios, peak memory by kind of child, an aligned
table of ``(label, value, note)`` rows).
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
RINGSIDE = Path(sys.executable).parent / "ringside"
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


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment with ``extra`` set, for a child that runs the product
    (without DAGSTER_HOME: the children keep to their RINGSIDE_HOME)."""
    env = dict(os.environ) | extra
    env.pop("DAGSTER_HOME", None)
    return env


# --------------------------------------------------------------------------- code


@dataclass(frozen=True)
class Code:
    """Which code the children run: the work tree, or a clean copy of a commit."""

    source: Path | None  # None: the work tree (the venv's editable install)
    ran_on: dict[str, Any]

    def env(self, **extra: str) -> dict[str, str]:
        env = child_env(**extra)
        if self.source is not None:
            # The copy's packages come first on the path (the venv's editable install
            # points at the work tree), and its dbt project with them.
            env["PYTHONPATH"] = os.pathsep.join(
                [str(self.source), *filter(None, [os.environ.get("PYTHONPATH")])]
            )
        return env


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


# --------------------------------------------------------------------------- files


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """The block holds an exclusive lock on ``path`` (one preparer per folder at a time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def dir_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


# --------------------------------------------------------------------------- figures


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


def utc_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(rows: list[tuple[str, Any, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(fmt(r[1])) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {fmt(value):>{vwidth}}  {note}".rstrip())


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
