"""The batch door: NDJSON exports (plain or gzipped) of events and app snapshots.

* ``content.ndjson[.gz]`` / ``accounts.ndjson[.gz]`` are snapshots of the application
  database, landed whole as one file each (dbt reads the newest ``snapshot_at``).
* Every other ``*.ndjson``, ``*.jsonl`` (optionally ``.gz``) file holds events, which go
  through :func:`ingestion.pipeline.process` in chunks so memory stays bounded.

Re-ingestion is idempotent per file content: a manifest entry named by the file's
sha256 is written to ``state/ingested/`` once the file is fully landed, and files whose
content is already there are skipped (``force=True`` ingests them again). A crash mid-file
leaves no manifest entry; the re-run lands the landed chunks again and dbt staging drops
those copies by messageId.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import multiprocessing
import os
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field, ValidationError

from ingestion.compaction import CompactionReport, compact
from ingestion.enrich import open_geoip
from ingestion.events import FieldError, reason, wire_path
from ingestion.landing import rows_to_table, snapshot_writer
from ingestion.pipeline import (
    Origin,
    Quarantine,
    accepted_window,
    json_text,
    parse_json,
    process,
)
from ingestion.schema import SNAPSHOT_SCHEMAS
from ringside.core.layout import Layout
from ringside.core.settings import Settings

CHUNK_LINES = 50_000
SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
Kind = Literal["events", "content", "accounts"]


class IngestError(Exception):
    """A request the batch loader cannot carry out (bad path, unknown file type)."""


class FileReport(BaseModel):
    path: str
    kind: Kind
    sha256: str
    skipped: bool = False  # same content already ingested (see `note`)
    note: str | None = None
    lines: int = 0  # non-blank lines: one event or snapshot row each
    accepted: int = 0
    quarantined: int = 0
    quarantined_by_field: dict[str, int] = Field(default_factory=dict)
    files_written: int = 0
    seconds: float = 0.0


class IngestReport(BaseModel):
    files: list[FileReport]
    ignored: list[str] = Field(default_factory=list)  # files in directories of other types
    seconds: float
    compaction: CompactionReport | None = None  # the pass after landing, when enabled

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        """One line per file, then the totals (what `ringside ingest` prints)."""
        out = []
        for f in self.files:
            if f.skipped:
                out.append(f"skipped      {f.path}: {f.note}")
                continue
            why = ", ".join(f"{field} {n:,}" for field, n in sorted(f.quarantined_by_field.items()))
            out.append(
                f"{f.kind:<12} {f.path}: {f.lines:,} lines, {f.accepted:,} accepted, "
                f"{f.quarantined:,} quarantined{f' ({why})' if why else ''} in {f.seconds:.1f}s"
            )
        out.extend(f"ignored      {path} (not an NDJSON file)" for path in self.ignored)
        out.append(
            f"total: {len(self.files) - self.skipped} files ingested, {self.skipped} skipped as "
            f"already ingested; {self.lines:,} lines, {self.accepted:,} accepted, "
            f"{self.quarantined:,} quarantined in {self.seconds:.1f}s "
            f"({self.lines_per_second:,.0f} lines/s)"
        )
        if self.compaction is not None:
            out.append(self.compaction.summary())
        return "\n".join(out)


def ingest_paths(
    paths: list[Path],
    layout: Layout,
    settings: Settings,
    *,
    workers: int = 1,
    force: bool = False,
    chunk_lines: int = CHUNK_LINES,
) -> IngestReport:
    """Ingest NDJSON files and directories (searched recursively).

    With ``workers > 1`` files are ingested in parallel processes (spawned: call this from
    code under ``if __name__ == "__main__":`` or from an installed entry point), one file
    per task, largest first. Raises :class:`IngestError` for a missing path or a named
    file of unknown type; files of other types inside directories are listed as ignored.
    """
    started = time.perf_counter()
    found, ignored = _discover(paths)
    reports: dict[Path, FileReport] = {}
    todo: list[tuple[Path, Kind, str]] = []
    first_with_content: dict[str, Path] = {}
    for path, kind in found:
        digest = _sha256(path)
        previous = _manifest_entry(layout, digest)
        if digest in first_with_content:
            note = f"same content as {first_with_content[digest]} in this run"
            reports[path] = _skipped(path, kind, digest, note)
        elif previous is not None and not force:
            note = f"already ingested from {previous['path']} at {previous['ingested_at']}"
            reports[path] = _skipped(path, kind, digest, note)
        else:
            todo.append((path, kind, digest))
        first_with_content.setdefault(digest, path)

    todo.sort(key=lambda task: task[0].stat().st_size, reverse=True)  # balances the pool
    arguments = [(*task, layout, settings, chunk_lines) for task in todo]
    if workers > 1 and len(todo) > 1:
        # spawn, not fork: the caller (API, Dagster) may have threads a fork would copy
        # mid-lock.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(todo)), mp_context=context) as pool:
            futures = [pool.submit(_ingest_file, *args) for args in arguments]
            done = [future.result() for future in futures]
    else:
        done = [_ingest_file(*args) for args in arguments]
    reports.update((Path(report.path), report) for report in done)
    # The chunks landed as a file per chunk and event day: merged like the collector's
    # flushes (the same compactor; see compaction_seconds).
    compaction = None
    if settings.compaction_seconds > 0 and any(report.files_written for report in done):
        compaction = compact(layout, settings.compaction_rows, settings.compaction_seconds)

    return IngestReport(
        files=[reports[path] for path, _ in found],
        ignored=[str(p) for p in ignored],
        seconds=round(time.perf_counter() - started, 3),
        compaction=compaction,
    )


def file_kind(path: Path) -> Kind | None:
    """What a file holds, from its name; None when it is not an NDJSON file."""
    for suffix in SUFFIXES:
        if path.name.endswith(suffix):
            stem = path.name.removesuffix(suffix)
            return stem if stem in SNAPSHOT_ROWS else "events"  # type: ignore[return-value]
    return None


def _discover(paths: list[Path]) -> tuple[list[tuple[Path, Kind]], list[Path]]:
    found: dict[Path, Kind] = {}
    ignored: list[Path] = []
    for given in paths:
        if not given.exists():
            raise IngestError(f"no such file or directory: {given}")
        if given.is_dir():
            candidates = sorted(p for p in given.rglob("*") if p.is_file())
        else:
            if file_kind(given) is None:
                raise IngestError(
                    f"unknown file type: {given} (expected one of {', '.join(SUFFIXES)})"
                )
            candidates = [given]
        for path in candidates:
            kind = file_kind(path)
            if kind is None:
                ignored.append(path)
            else:
                found.setdefault(Path(os.path.abspath(path)), kind)
    return list(found.items()), ignored


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _manifest_path(layout: Layout, digest: str) -> Path:
    return layout.state_dir / "ingested" / f"{digest}.json"


def _manifest_entry(layout: Layout, digest: str) -> dict[str, Any] | None:
    path = _manifest_path(layout, digest)
    return orjson.loads(path.read_bytes()) if path.exists() else None


def _record(layout: Layout, report: FileReport) -> None:
    """Write the manifest entry atomically: one file per content hash, so concurrent
    ingests never contend for a shared manifest file."""
    path = _manifest_path(layout, report.sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"ingested_at": datetime.now(UTC).isoformat(), **report.model_dump()}
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    temp.write_bytes(orjson.dumps(entry, option=orjson.OPT_INDENT_2))
    temp.replace(path)


def _skipped(path: Path, kind: Kind, digest: str, note: str) -> FileReport:
    return FileReport(path=str(path), kind=kind, sha256=digest, skipped=True, note=note)


def _chunks(path: Path, size: int) -> Iterator[list[tuple[int, bytes]]]:
    """The file's non-blank lines, ``size`` at a time, as (line number, line without its
    end-of-line); numbers count from 1 like editors. A damaged file is an IngestError."""
    lines = _numbered_lines(path)
    while chunk := list(islice(lines, size)):
        yield chunk


def _numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as stream:
            for number, line in enumerate(stream, start=1):
                if line.strip():
                    yield number, line.rstrip(b"\r\n")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # truncated or corrupt gzip
        raise IngestError(f"cannot read {path}: {exc}") from exc


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a chunk is processed.

    A chunk allocates millions of short-lived, acyclic containers (dicts, models,
    tuples); the collector would rescan them every few hundred allocations and find
    nothing, which measured ~3x slower. Refcounting still frees everything; cycles (if
    any) are collected once the collector runs again after the chunk.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _ingest_file(
    path: Path, kind: Kind, digest: str, layout: Layout, settings: Settings, chunk_lines: int
) -> FileReport:
    started = time.perf_counter()
    report = FileReport(path=str(path), kind=kind, sha256=digest)
    now = datetime.now(UTC)
    origin = Origin(
        source="batch", source_ref=str(path), received_at=now, window=accepted_window(settings, now)
    )
    reasons: Counter[str] = Counter()
    if kind == "events":
        geo = open_geoip(settings.geoip_db)
        for chunk in _chunks(path, chunk_lines):
            with _gc_paused():
                result = process(chunk, origin, layout, geo)
            report.lines += len(chunk)
            report.accepted += result.accepted
            report.quarantined += result.quarantined
            report.files_written += len(result.files)
            reasons.update(r.field for r in result.rejections)
    else:
        _ingest_snapshot(_chunks(path, chunk_lines), kind, origin, layout, report, reasons)
    report.quarantined_by_field = dict(reasons)
    report.seconds = round(time.perf_counter() - started, 3)
    _record(layout, report)
    return report


# Snapshot rows come from the application database, not from tracking clients: a naive
# timestamp there is UTC (and stored as is), unlike events, whose contract requires an offset.
class ContentRow(BaseModel):
    content_id: str = Field(min_length=1)
    content_type: str = Field(min_length=1)
    title: str | None = None
    published_at: datetime | None = None
    author: str | None = None
    fighters: list[str] | None = None
    weight_class: str | None = None
    fight_event_id: str | None = None
    starts_at: datetime | None = None  # fight events: when the main card starts

    def row(self, snapshot_at: datetime) -> tuple[Any, ...]:
        fighters = json_text(self.fighters) if self.fighters is not None else None
        return (
            self.content_id, self.content_type, self.title, self.published_at, self.author,
            fighters, self.weight_class, self.fight_event_id, self.starts_at, snapshot_at,
        )  # fmt: skip


class AccountRow(BaseModel):
    user_id: str = Field(min_length=1)
    created_at: datetime
    country: str | None = None
    plan: str | None = None

    def row(self, snapshot_at: datetime) -> tuple[Any, ...]:
        return (self.user_id, self.created_at, self.country, self.plan, snapshot_at)


SNAPSHOT_ROWS: dict[str, type[ContentRow] | type[AccountRow]] = {
    "content": ContentRow,
    "accounts": AccountRow,
}


def _ingest_snapshot(
    chunks: Iterator[list[tuple[int, bytes]]],
    name: str,
    origin: Origin,
    layout: Layout,
    report: FileReport,
    reasons: Counter[str],
) -> None:
    """Land a whole snapshot file as one Parquet file; invalid rows are quarantined."""
    model, schema = SNAPSHOT_ROWS[name], SNAPSHOT_SCHEMAS[name]
    snapshot_at = origin.received_at
    quarantine = Quarantine(origin)
    with snapshot_writer(name, layout, origin.received_at, schema) as writer:
        for chunk in chunks:
            rows = []
            for number, line in chunk:
                parsed = parse_json(line)
                if isinstance(parsed, FieldError):
                    quarantine.add(number, line, None, [parsed], None)
                    continue
                try:
                    rows.append(model.model_validate(parsed[0]).row(snapshot_at))
                except ValidationError as exc:
                    errors = [FieldError(wire_path(e["loc"]), reason(e)) for e in exc.errors()]
                    quarantine.add(number, line, parsed[0], errors, None)
            if rows:
                writer.write_table(rows_to_table(rows, schema))
            report.lines += len(chunk)
            report.accepted += len(rows)
    report.files_written = 1 + len(quarantine.land(layout))
    report.quarantined = len(quarantine.rejections)
    reasons.update(r.field for r in quarantine.rejections)
