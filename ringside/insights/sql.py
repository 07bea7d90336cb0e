"""Shared pieces of the ad-hoc query engine: bound parameters (for the engine a
Dialect names) and the catalog of event names a query may use.

The engine's SQL is rendered from the dbt macros that build the marts
(:mod:`ringside.insights.macros`), for the engine a :class:`Dialect` names: where DuckDB
and PostgreSQL differ (JSON access, date arithmetic) the macros dispatch on it as dbt
does. Every value a client sends travels as a bound parameter (:meth:`Params.bind` is
the macros' ``literal``); the SQL text holds only what the engine chooses itself: table
and column names, CTE names numbered by step, and a period unit from a closed list.

The SQL writes parameters as DuckDB's ``$name``, run on either engine by a
:class:`~ringside.core.readers.Reader`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ringside.core.readers import DUCKDB, Dialect, Reader


class QueryError(ValueError):
    """A query the engine refuses; ``str()`` is the reason, for the client."""


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
