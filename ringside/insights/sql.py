"""Shared pieces of the ad-hoc query engine: bound parameters, event matchers as SQL
predicates, and the catalog of event names a query may use.

The engine writes standard SQL that DuckDB and PostgreSQL 15 both run. The one place
where the engines' SQL differs (JSON access) lives in :class:`Dialect`. Every value a
client sends travels as a bound parameter; the SQL text holds only what the engine
chooses itself: table and column names, CTE names numbered by step, and a period unit
from a closed list.

The SQL writes parameters as DuckDB's ``$name``, run on either engine by a
:class:`~ringside.core.readers.Reader`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ringside.core.readers import DUCKDB, Dialect, Reader
from ringside.insights.definitions import EventMatcher

ANY_ACTIVITY = "$any_activity"
PAGEVIEW = "$pageview"
# Event tokens (retention) that stand for a class of events rather than one name.
EVENT_TOKENS = {ANY_ACTIVITY: "is_active_event", PAGEVIEW: "is_page_view"}


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

    def json_text(self, column: str, key: str) -> str:
        """Text of the top-level key ``key`` of the JSON text ``column`` (NULL when
        absent); the key is bound, never spliced."""
        if self.dialect.name == "postgres":
            return f"(cast({column} as json) ->> {self.bind(key, 'json_key')})"
        # DuckDB reads a bare key starting with `$` or `/` as a path, so the key goes in
        # a quoted JSONPath member, which takes any text.
        path = '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"json_extract_string({column}, {self.bind(path, 'json_path')})"


def matcher_predicate(matcher: EventMatcher, params: Params) -> str:
    """A boolean SQL expression over `fct_events` columns that holds for the events the
    step or exclusion matches (all narrowing conditions must hold)."""
    if matcher.event is not None:
        conditions = [f"event_name = {params.bind(matcher.event, 'event')}"]
    else:
        conditions = ["is_page_view"]
    if matcher.path is not None:
        conditions.append(f"page_path = {params.bind(matcher.path, 'path')}")
    if matcher.path_prefix is not None:
        # substr rather than LIKE: a prefix holding `%` or `_` stays literal.
        length = params.bind(len(matcher.path_prefix), "prefix_length")
        prefix = params.bind(matcher.path_prefix, "path_prefix")
        conditions.append(f"substr(page_path, 1, {length}) = {prefix}")
    if matcher.content_type is not None:
        conditions.append(f"content_type = {params.bind(matcher.content_type, 'content_type')}")
    for key, value in matcher.property_filters():
        conditions.append(
            f"{params.json_text('properties', key)} = {params.bind(value, 'property_value')}"
        )
    return "(" + " and ".join(conditions) + ")"


def event_token_predicate(token: str, params: Params) -> str:
    """Retention's event argument: a `track` event name, or a token for a class."""
    if token in EVENT_TOKENS:
        return EVENT_TOKENS[token]
    return f"(event_name = {params.bind(token, 'event')})"


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
