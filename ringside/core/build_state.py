"""What each warehouse has built, so a build reads only what landed since.

A build records, for the database it built into, the newest modification time of every
landed event day it consumed. The next build into that database takes the days whose
files changed since (new files, late events of old days) as its window; with none,
there is nothing to do, which is known without starting Dagster or dbt.

On DuckDB there are two databases, generations ``a`` and ``b``: readers use the served
one while dbt builds the other, and publishing switches a link (ringside/core/warehouse.py),
so nothing is copied per build. Each generation keeps its own state: a generation one
build behind reads the two builds' new days. A generation descends from a full build
(its lineage); when the served one comes from a newer full build (``--full-refresh``),
the other is replaced by a copy of it before its next build (the only whole copy).
PostgreSQL has one database (readers see committed builds through MVCC): one state.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import BaseModel

from ringside.core.files import replace_file
from ringside.core.layout import Layout
from ringside.core.settings import Settings


class BuildState(BaseModel):
    landed: dict[str, float] = {}
    """ISO event day -> newest landed file modification time the build consumed."""
    lineage: str = ""
    """The full build this database descends from."""


@dataclass(frozen=True)
class Generation:
    """The database a build writes into, and what it has built."""

    name: str  # "a" / "b" on DuckDB, "postgres"
    layout: Layout

    @property
    def state_path(self) -> Path:
        return self.layout.generation_state_path(self.name)

    def state(self) -> BuildState:
        try:
            return BuildState.model_validate_json(self.state_path.read_bytes())
        except FileNotFoundError:
            return BuildState()

    def save(self, state: BuildState) -> None:
        replace_file(self.state_path, state.model_dump_json().encode())


def landed_state(layout: Layout) -> dict[str, float]:
    """Newest file modification time per landed event day (ISO date)."""
    return {
        day.isoformat(): max(path.stat().st_mtime for path in paths)
        for day, paths in layout.landed_event_files().items()
    }


def changed_days(landed: dict[str, float], built: BuildState) -> list[date]:
    """Event days with files newer than what `built` consumed, oldest first."""
    return sorted(
        date.fromisoformat(day)
        for day, mtime in landed.items()
        if mtime > built.landed.get(day, float("-inf"))
    )


def new_files(layout: Layout, days: list[date] | None, built: BuildState) -> list[Path]:
    """The landed files of `days` (None: every day) newer than what `built` consumed:
    all a build must read, since every row of a consumed file was staged (or is a
    duplicate of a staged one). Landed files are never rewritten; compaction replaces
    files read by a build only by files dated no newer (ingestion/compaction.py)."""
    return sorted(
        path
        for day, paths in layout.landed_event_files(days=days).items()
        for path in paths
        if path.stat().st_mtime > built.landed.get(day.isoformat(), float("-inf"))
    )


def consumed_marks(layout: Layout) -> dict[str, list[float]]:
    """ISO event day -> the mark of every database that has built it, ascending: the
    files of a day at or below a mark were read by that database, those above were not.
    The compactor merges only files on the same side of every mark."""
    marks: dict[str, set[float]] = {}
    for path in layout.state_dir.glob(layout.generation_state_path("*").name):
        try:
            state = BuildState.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            continue
        for day, mark in state.landed.items():
            marks.setdefault(day, set()).add(mark)
    return {day: sorted(values) for day, values in marks.items()}


def served_generation(settings: Settings) -> Generation | None:
    """What readers see; None on DuckDB before the first publish."""
    if settings.warehouse == "postgres":
        return Generation("postgres", settings.layout)
    name = settings.layout.served_generation()
    return Generation(name, settings.layout) if name else None


def target_generation(settings: Settings) -> Generation:
    """Where the next build writes."""
    if settings.warehouse == "postgres":
        return Generation("postgres", settings.layout)
    name = settings.layout.warehouse_path.name.removeprefix("ringside-").removesuffix(".duckdb")
    return Generation(name, settings.layout)


def pending_days(settings: Settings) -> list[date]:
    """Landed days the served data has not built yet (all of them before a first build)."""
    served = served_generation(settings)
    return changed_days(landed_state(settings.layout), served.state() if served else BuildState())


def _stale_target(settings: Settings) -> tuple[Generation, Generation | None]:
    """The generation the next build writes, and the served one when the target must
    first become a copy of it (missing, or left from an older full build); DuckDB only."""
    target, served = target_generation(settings), served_generation(settings)
    if served is None or served.name == target.name:
        return target, None
    exists = settings.layout.generation_path(target.name).exists()
    if exists and target.state().lineage == served.state().lineage:
        return target, None
    return target, served


def target_state(settings: Settings) -> BuildState:
    """What the database the next build writes holds: one build behind the served one
    (DuckDB), or what the served one holds when prepare_target will copy it."""
    target, copied_from = _stale_target(settings)
    return (copied_from or target).state()


def build_days(settings: Settings) -> list[date]:
    """The event days the next build must read: those landed since what the database it
    writes holds (the served build's days as well as what is new)."""
    return changed_days(landed_state(settings.layout), target_state(settings))


def prepare_target(settings: Settings) -> Generation:
    """The generation to build into, made to descend from the served one: on DuckDB a
    generation missing, or left from an older full build, becomes a copy of the served
    one with its state."""
    target, served = _stale_target(settings)
    if served is None:
        return target
    target_path = settings.layout.generation_path(target.name)
    scratch = target_path.with_suffix(".duckdb.tmp")
    shutil.copyfile(settings.layout.generation_path(served.name), scratch)
    scratch.replace(target_path)
    target.save(served.state())
    return target


def new_lineage() -> str:
    return uuid.uuid4().hex


def oldest_pending_age(settings: Settings, now: float) -> float:
    """Seconds the oldest landed file the served data has not built yet has waited
    (0 when everything landed is served): how far the marts trail the events."""
    served = served_generation(settings)
    unbuilt = new_files(settings.layout, None, served.state() if served else BuildState())
    waiting = [path.stat().st_mtime for path in unbuilt]
    return max(0.0, now - min(waiting)) if waiting else 0.0
