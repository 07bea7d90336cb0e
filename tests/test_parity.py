"""The same landed platform built on DuckDB and on PostgreSQL gives identical marts:
every `fct_*`, `dim_*` and `mart_*` table has the same columns, the same row count
and the same rows (floats within 1e-9 relative)."""

import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ringside.core.postgres import connect
from ringside.core.settings import Settings
from tests.platforms import BuiltPlatform, platform_environment

Table = tuple[list[str], list[tuple]]
MART_PREFIXES = ("fct_", "dim_", "mart_")


def normalized(value: object) -> object:
    # Engines return numeric aggregates as Decimal or float, and may differ in the
    # last bits of a float: compare numbers as floats, within a tolerance (below).
    if isinstance(value, Decimal):
        return float(value)
    return value


def sort_key(row: tuple) -> tuple:
    # Floats sort by 6 significant digits so last-bit differences keep rows aligned.
    return tuple(
        (0, "")
        if value is None
        else (1, f"{value:.6g}")
        if isinstance(value, float)
        else (2, value.isoformat() if isinstance(value, date | datetime) else str(value))
        for value in row
    )


def rows_equal(left: tuple, right: tuple) -> bool:
    return len(left) == len(right) and all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        if isinstance(a, float) and isinstance(b, float)
        else a == b
        for a, b in zip(left, right, strict=True)
    )


def duckdb_marts(path: Path) -> dict[str, Table]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables order by 1"
            ).fetchall()
            if name.startswith(MART_PREFIXES)
        ]
        return {name: read(con.cursor(), name, "main") for name in names}


def postgres_marts(settings: Settings) -> dict[str, Table]:
    con = connect(settings, reader=True)
    try:
        with con.cursor() as cur:
            cur.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (settings.pg_schema,),
            )
            names = sorted(name for (name,) in cur.fetchall() if name.startswith(MART_PREFIXES))
            return {name: read(cur, name, settings.pg_schema) for name in names}
    finally:
        con.close()


def read(cur: object, table: str, schema: str) -> Table:
    """Columns in name order and rows sorted by all of them."""
    cur.execute(f'select * from "{schema}"."{table}" limit 0')
    # `_built_at` records when each build wrote a row (docs/incremental.md): it differs
    # between two builds by design, so it is no figure to compare.
    columns = sorted(c[0] for c in cur.description if not c[0].startswith("_"))
    quoted = ", ".join(f'"{column}"' for column in columns)
    cur.execute(f'select {quoted} from "{schema}"."{table}"')
    rows = [tuple(normalized(v) for v in row) for row in cur.fetchall()]
    return columns, sorted(rows, key=sort_key)


@pytest.fixture(scope="module")
def marts(twin_platforms: tuple[BuiltPlatform, BuiltPlatform]) -> tuple[dict, dict]:
    on_duckdb, on_postgres = twin_platforms
    with platform_environment(on_postgres.settings) as settings:
        return duckdb_marts(on_duckdb.settings.layout.serving_path), postgres_marts(settings)


def test_every_mart_is_built_on_both(marts: tuple[dict, dict]):
    on_duckdb, on_postgres = marts
    assert len(on_duckdb) >= 15
    assert len(on_duckdb["fct_events"][1]) > 1000
    assert sorted(on_postgres) == sorted(on_duckdb)


def test_marts_are_identical_on_duckdb_and_postgres(marts: tuple[dict, dict]):
    on_duckdb, on_postgres = marts
    differing: dict[str, str] = {}
    for name, (columns, rows) in on_duckdb.items():
        pg_columns, pg_rows = on_postgres.get(name, ([], []))
        if pg_columns != columns:
            differing[name] = f"columns {sorted(set(columns) ^ set(pg_columns))} differ"
        elif len(pg_rows) != len(rows):
            differing[name] = f"{len(rows)} rows on DuckDB, {len(pg_rows)} on PostgreSQL"
        else:
            mismatch = next(
                ((d, p) for d, p in zip(rows, pg_rows, strict=True) if not rows_equal(d, p)),
                None,
            )
            if mismatch:
                d, p = mismatch
                cells = {c: (a, b) for c, a, b in zip(columns, d, p, strict=True) if a != b}
                differing[name] = f"first differing row: {cells}"
    assert not differing, differing
