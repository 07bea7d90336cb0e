"""Reads from the published warehouse, for the routers."""

from typing import Any

from fastapi import HTTPException

from ringside.settings import Settings
from ringside.warehouse import WarehouseNotBuiltError, read_serving


def fetch_rows(settings: Settings, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of a parameterized query as dicts; 503 while nothing has been built."""
    try:
        with read_serving(settings.layout) as con:
            cursor = con.execute(sql, params)
            columns = [d[0] for d in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    except WarehouseNotBuiltError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
