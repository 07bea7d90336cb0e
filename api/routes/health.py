from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import SettingsDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    warehouse_published_at: datetime | None


@router.get("/health", response_model=Health)
def health(settings: SettingsDep) -> Health:
    """`warehouse_published_at`: when the served DuckDB copy was published; always null
    on PostgreSQL, which has no published copy (the API reads the built marts)."""
    served = settings.layout.serving_path
    published = (
        datetime.fromtimestamp(served.stat().st_mtime, tz=UTC)
        if settings.warehouse == "duckdb" and served.exists()
        else None
    )
    return Health(status="ok", warehouse_published_at=published)
