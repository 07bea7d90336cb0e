"""Is the pipeline healthy? The recorded outcome of the builds, the age of the served
data and the room left where events land, read by `ringside status`, `/health` and the
`pipeline` alert rules.

A failed build leaves readers on the last good copy (nothing is published), which is
right but silent; the build status file (``layout.build_status_path``) is what makes
it visible. The dbt asset writes it when it finishes (orchestration/defs/dbt.py), so
it holds for `ringside build` and `dagster dev` alike.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from ringside.core.files import replace_file
from ringside.core.layout import Layout
from ringside.core.settings import Settings
from ringside.core.timestamps import UtcDateTime

# dbt run_results statuses of a node that broke the build (a model: error; a test: fail,
# or error when its SQL does not run); warn and skipped do not fail a build.
FAILED_STATUSES = ("error", "fail")
MESSAGE_LIMIT = 1000  # a database error can quote a whole query
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # dbt colours unit test diffs


class FailedNode(BaseModel):
    """One thing that failed a build: a dbt model or test, a Dagster asset check, or a
    step that failed before any of them ran."""

    name: str = Field(description="dbt node name, asset check (asset:check) or step key.")
    resource_type: str = Field(description="model, test, seed, snapshot, check or step.")
    message: str

    @field_validator("message")
    @classmethod
    def _capped(cls, value: str) -> str:
        return ANSI_ESCAPE.sub("", value).strip()[:MESSAGE_LIMIT]


class BuildAttempt(BaseModel):
    run_id: str
    started_at: UtcDateTime
    finished_at: UtcDateTime
    ok: bool
    failures: list[FailedNode] = Field(default_factory=list, description="Empty when ok.")

    @classmethod
    def finished(
        cls, run_id: str, started_at: datetime, failures: list[FailedNode]
    ) -> BuildAttempt:
        """An attempt finishing now: ok when nothing failed."""
        return cls(
            run_id=run_id,
            started_at=started_at,
            finished_at=datetime.now(UTC),
            ok=not failures,
            failures=failures,
        )


class BuildStatus(BaseModel):
    last_attempt: BuildAttempt | None = None
    failing_since: UtcDateTime | None = Field(
        default=None,
        description="When the first failed attempt after the last success finished; "
        "null while the last attempt succeeded.",
    )
    last_success_at: UtcDateTime | None = None

    @property
    def failed(self) -> bool:
        return self.last_attempt is not None and not self.last_attempt.ok

    def failure_summary(self) -> str:
        """The failing nodes in one line, e.g. `assert_pipeline_drill (test): Got 1 result…`."""
        failures = self.last_attempt.failures if self.last_attempt else []
        return "; ".join(f"{f.name} ({f.resource_type}): {f.message}" for f in failures)


def read_build_status(layout: Layout) -> BuildStatus:
    """The recorded build status; empty before the first build finished."""
    try:
        return BuildStatus.model_validate_json(layout.build_status_path.read_text())
    except FileNotFoundError:
        return BuildStatus()


def record_attempt(layout: Layout, attempt: BuildAttempt) -> BuildStatus:
    """Record a finished build attempt, carrying `failing_since` across consecutive
    failures; written atomically, so readers never see half a file."""
    before = read_build_status(layout)
    if attempt.ok:
        status = BuildStatus(last_attempt=attempt, last_success_at=attempt.finished_at)
    else:
        status = BuildStatus(
            last_attempt=attempt,
            failing_since=before.failing_since or attempt.finished_at,
            last_success_at=before.last_success_at,
        )
    replace_file(layout.build_status_path, status.model_dump_json(indent=2).encode())
    return status


def record_run_failure(
    layout: Layout, run_id: str, started_at: datetime, failures: list[FailedNode]
) -> None:
    """Record a failed build run unless its dbt asset already recorded the failure: a
    blocking check can fail the run before dbt ran, or after dbt published."""
    last = read_build_status(layout).last_attempt
    if last is not None and last.run_id == run_id and not last.ok:
        return
    record_attempt(layout, BuildAttempt.finished(run_id, started_at, failures))


def dbt_failures(run_results: dict[str, Any]) -> list[FailedNode]:
    """The models and tests that failed, from dbt's run_results.json."""
    return [
        FailedNode(
            name=_node_name(result["unique_id"]),
            resource_type=result["unique_id"].split(".")[0],
            message=result.get("message") or result["status"],
        )
        for result in run_results.get("results", [])
        if result["status"] in FAILED_STATUSES
    ]


def _node_name(unique_id: str) -> str:
    """<type>.<project>.<name>, where a generic test's name is followed by a hash and a
    unit test's is <model>.<test>."""
    kind, _project, *name = unique_id.split(".")
    return name[0] if kind == "test" else ".".join(name)


def published_at(settings: Settings) -> datetime | None:
    """When the served DuckDB copy was published; None on PostgreSQL (readers query the
    built marts, there is no copy) and before the first build."""
    served = settings.layout.serving_path
    if settings.warehouse != "duckdb" or not served.exists():
        return None
    return datetime.fromtimestamp(served.stat().st_mtime, tz=UTC)


def data_age_seconds(settings: Settings, status: BuildStatus, now: datetime) -> float | None:
    """How old the data readers see is: since the served copy was published (DuckDB), or
    since the last successful build (PostgreSQL); None before any build."""
    since = published_at(settings) if settings.warehouse == "duckdb" else status.last_success_at
    return None if since is None else max((now - since).total_seconds(), 0.0)


@dataclass(frozen=True)
class PipelineHealth:
    build: BuildStatus
    published_at: datetime | None
    data_age_seconds: float | None
    landing_writable: bool
    landing_free_mb: float
    degraded: list[str]  # why the pipeline is degraded; empty when ok


def assess(settings: Settings, now: datetime | None = None) -> PipelineHealth:
    """The pipeline's health: degraded when the last build failed, the served data is
    older than `stale_after_minutes`, or the landing area is read-only or nearly full."""
    now = now or datetime.now(UTC)
    build = read_build_status(settings.layout)
    age = data_age_seconds(settings, build, now)
    landing = _nearest_existing(settings.layout.raw_events_dir)
    writable = os.access(landing, os.W_OK)
    free_mb = shutil.disk_usage(landing).free / 2**20
    degraded = []
    if build.failed:
        degraded.append(f"last build failed: {build.failure_summary()}")
    if age is not None and age > settings.stale_after_minutes * 60:
        degraded.append(
            f"served data is {age / 60:.0f} minutes old "
            f"(RINGSIDE_STALE_AFTER_MINUTES={settings.stale_after_minutes})"
        )
    if not writable:
        degraded.append(f"landing area {landing} is not writable")
    if free_mb < settings.min_free_disk_mb:
        degraded.append(
            f"landing area has {free_mb:.0f} MB free "
            f"(RINGSIDE_MIN_FREE_DISK_MB={settings.min_free_disk_mb})"
        )
    return PipelineHealth(build, published_at(settings), age, writable, free_mb, degraded)


def _nearest_existing(path: Path) -> Path:
    """The path, or the closest ancestor that exists (before the first ingest the
    landing directories are created below it)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
