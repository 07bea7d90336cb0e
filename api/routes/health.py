from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import SettingsDep
from ingestion.collector_log import logged_bytes
from ringside.core.pipeline_health import BuildAttempt, assess
from ringside.core.timestamps import UtcDateTime

router = APIRouter(tags=["health"])
MB = 1024 * 1024


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    degraded: list[str] = Field(description="Why the status is degraded; empty when ok.")
    warehouse_published_at: UtcDateTime | None = Field(
        description="When the served DuckDB copy was published; null on PostgreSQL (the "
        "API reads the built marts) and before the first build."
    )
    data_age_seconds: float | None = Field(
        description="Age of the served data: since the copy was published (DuckDB) or the "
        "last successful build (PostgreSQL); null before the first build."
    )
    last_build: BuildAttempt | None = Field(
        description="The last build attempt, with its failing dbt models/tests when it failed."
    )
    failing_since: UtcDateTime | None = Field(
        description="When builds started failing (the first failure after the last success)."
    )
    last_success_at: UtcDateTime | None
    landing_writable: bool = Field(description="Can events be landed (raw events directory)?")
    landing_free_mb: float = Field(description="Free disk space where events land.")
    collector_log_mb: dict[int, float] = Field(
        description="Per collector process (slot): requests acknowledged and logged, not "
        "yet landed as Parquet. Past RINGSIDE_COLLECTOR_MAX_PENDING_MB the collector "
        "answers 503 (back-pressure) and the status is degraded."
    )
    collector_log_limit_mb: int


@router.get("/health", response_model=Health)
def health(settings: SettingsDep) -> Health:
    """The app is up; `status` says whether the pipeline behind it is healthy.

    Always HTTP 200 while the API serves (a probe restarting the app would not fix a
    failed build): `degraded`, with its reasons, when the last build failed, the served
    data is older than RINGSIDE_STALE_AFTER_MINUTES (once something was built), or the
    landing area is not writable or has less free space than RINGSIDE_MIN_FREE_DISK_MB,
    or a collector process's log is past RINGSIDE_COLLECTOR_MAX_PENDING_MB.
    """
    pipeline = assess(settings)
    limit = settings.collector_max_pending_mb
    logged = {slot: size / MB for slot, size in logged_bytes(settings.layout).items()}
    degraded = pipeline.degraded + [
        f"collector process {slot} holds {size:.0f} MB not landed (limit {limit} MB): "
        "it refuses events until landing catches up"
        for slot, size in sorted(logged.items())
        if size > limit
    ]
    return Health(
        status="degraded" if degraded else "ok",
        degraded=degraded,
        warehouse_published_at=pipeline.published_at,
        data_age_seconds=pipeline.data_age_seconds,
        last_build=pipeline.build.last_attempt,
        failing_since=pipeline.build.failing_since,
        last_success_at=pipeline.build.last_success_at,
        landing_writable=pipeline.landing_writable,
        landing_free_mb=round(pipeline.landing_free_mb, 1),
        collector_log_mb={slot: round(size, 3) for slot, size in logged.items()},
        collector_log_limit_mb=limit,
    )
