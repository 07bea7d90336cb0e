"""Read-only access to the warehouse on either engine, through one interface.

All of Ringside's read SQL (the API routes', the query engine's, reports', quality
checks' and the ML inputs') writes parameters as DuckDB's ``$name`` and unqualified
model names; a :class:`Reader` runs it on one engine: the PostgreSQL reader rewrites the
placeholders into psycopg's ``%(name)s``. The one place where the engines' SQL differs
for readers (JSON access) is decided by :class:`Dialect`. Readers are opened by
:func:`ringside.core.warehouse.open_reader`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import duckdb
import pandas as pd
from psycopg2.extensions import connection as PgConnection
from psycopg2.extensions import cursor as PgCursor


@dataclass(frozen=True)
class Dialect:
    """The SQL engine a query runs on (it decides how JSON keys are read)."""

    name: Literal["duckdb", "postgres"]


DUCKDB = Dialect("duckdb")
POSTGRES = Dialect("postgres")


class Reader(Protocol):
    """Read-only access to the warehouse on one engine."""

    @property
    def dialect(self) -> Dialect: ...

    def rows(self, sql: str, params: Mapping[str, object]) -> list[dict[str, Any]]:
        """Rows of ``sql`` (parameters written ``$name``) as dicts by column name."""
        ...

    def frame(self, sql: str, params: Mapping[str, object] | None = None) -> pd.DataFrame:
        """The result of ``sql`` as a DataFrame (quality checks, ML inputs)."""
        ...


class DuckDBReader:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    @property
    def dialect(self) -> Dialect:
        return DUCKDB

    def rows(self, sql: str, params: Mapping[str, object]) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, dict(params))
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def frame(self, sql: str, params: Mapping[str, object] | None = None) -> pd.DataFrame:
        return self.con.execute(sql, dict(params or {})).df()


# `$name` not preceded by a word character or another `$` (so not `$1`-style or `$$`).
_DOLLAR_PARAMETER = re.compile(r"(?<![\w$])\$([A-Za-z_][A-Za-z0-9_]*)")


def to_pyformat(sql: str) -> str:
    """``$name`` placeholders as psycopg's ``%(name)s``; a literal ``%`` (the modulo
    operator, a LIKE pattern) doubled so psycopg leaves it alone. Ringside's SQL binds
    every value, so no ``$`` appears inside a string literal."""
    return _DOLLAR_PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%"))


def _column_names(cursor: PgCursor) -> list[str]:
    """The names of the columns of ``cursor``'s result."""
    # psycopg2 describes no columns after a statement without a result; a reader runs
    # queries only.
    assert cursor.description is not None
    return [d[0] for d in cursor.description]


class PostgresReader:
    """Runs `$name` SQL on a psycopg2 connection; the caller owns the transaction."""

    def __init__(self, con: PgConnection) -> None:
        self.con = con

    @property
    def dialect(self) -> Dialect:
        return POSTGRES

    def rows(self, sql: str, params: Mapping[str, object]) -> list[dict[str, Any]]:
        with self.con.cursor() as cursor:
            cursor.execute(to_pyformat(sql), dict(params))
            columns = _column_names(cursor)
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def frame(self, sql: str, params: Mapping[str, object] | None = None) -> pd.DataFrame:
        with self.con.cursor() as cursor:
            cursor.execute(to_pyformat(sql), dict(params or {}))
            columns = _column_names(cursor)
            # coerce_float: numeric columns arrive as Decimal, which GE compares poorly.
            return pd.DataFrame.from_records(cursor.fetchall(), columns=columns, coerce_float=True)


def as_reader(source: Reader | duckdb.DuckDBPyConnection) -> Reader:
    """A reader for ``source``; a bare DuckDB connection (tests, benchmarks) is wrapped."""
    if isinstance(source, duckdb.DuckDBPyConnection):
        return DuckDBReader(source)
    return source
