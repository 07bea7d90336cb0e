"""Shared pieces of the ad-hoc query engine: the engines it runs on, bound parameters,
and the catalog of event names a query may use.

The engine's SQL is rendered from the dbt macros that build the marts
(:mod:`ringside.insights.macros`), for the engine a :class:`Dialect` names: where DuckDB
and PostgreSQL differ (JSON access, date arithmetic) the macros dispatch on it as dbt
does. Every value a client sends travels as a bound parameter (:meth:`Params.bind` is
the macros' ``literal``); the SQL text holds only what the engine chooses itself: table
and column names, CTE names numbered by step, and a period unit from a closed list.

All of Ringside's read SQL (the engine's and the API routes') writes parameters as
DuckDB's ``$name``; a :class:`Reader` runs it on one engine, and the PostgreSQL reader
rewrites the placeholders into psycopg's ``%(name)s``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import duckdb
from psycopg2.extensions import connection as PgConnection


class QueryError(ValueError):
    """A query the engine refuses; ``str()`` is the reason, for the client."""


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


# `$name` not preceded by a word character or another `$` (so not `$1`-style or `$$`).
_DOLLAR_PARAMETER = re.compile(r"(?<![\w$])\$([A-Za-z_][A-Za-z0-9_]*)")


def to_pyformat(sql: str) -> str:
    """``$name`` placeholders as psycopg's ``%(name)s``; a literal ``%`` (the modulo
    operator, a LIKE pattern) doubled so psycopg leaves it alone. Ringside's SQL binds
    every value, so no ``$`` appears inside a string literal."""
    return _DOLLAR_PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%"))


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
            columns = [d[0] for d in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def as_reader(source: Reader | duckdb.DuckDBPyConnection) -> Reader:
    """A reader for ``source``; a bare DuckDB connection (tests, benchmarks) is wrapped."""
    if isinstance(source, duckdb.DuckDBPyConnection):
        return DuckDBReader(source)
    return source


class Params:
    """Collects bound parameters while SQL is generated: :meth:`bind` stores a value and
    returns the placeholder to write in its place."""

    def __init__(self, dialect: Dialect = DUCKDB) -> None:
        self.dialect = dialect
        self.values: dict[str, object] = {}

    def bind(self, value: object, hint: str = "p") -> str:
        name, suffix = hint, 1
        while name in self.values:
            name, suffix = f"{hint}_{suffix}", suffix + 1
        self.values[name] = value
        return f"${name}"


def check_event_names(reader: Reader, uses: Iterable[tuple[str, str]]) -> None:
    """Raise :class:`QueryError` unless every event name is a known `event_name` of
    `fct_events`. ``uses`` pairs each name with where it was used (for the message).
    Only the names asked about are looked up, in one scan of one column."""
    uses = list(uses)
    names = sorted({name for name, _ in uses})
    if not names:
        return
    params = Params(reader.dialect)
    placeholders = ", ".join(params.bind(name, "name") for name in names)
    sql = f"select distinct event_name from fct_events where event_name in ({placeholders})"
    known = {row["event_name"] for row in reader.rows(sql, params.values)}
    unknown = [f"{where}: unknown event {name!r}" for name, where in uses if name not in known]
    if unknown:
        raise QueryError("; ".join(unknown) + " (no such event_name in fct_events)")
