"""The warehouse read as a stream: a query's rows as Arrow record batches, so an export of a million
rows never holds them all: the served DuckDB copy through DuckDB's Arrow reader, or
PostgreSQL through a server-side (named) cursor fetching a batch at a time.

Either way the batches share one schema, with the engines' differences ironed out:
decimals become floats (or integers, scale 0) and NaN becomes null, as in the API's JSON."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol

import duckdb
import psycopg2.errors
import psycopg2.extensions
import pyarrow as pa
import pyarrow.compute as pc
from psycopg2.extensions import cursor as PgCursor

from ringside.core import postgres
from ringside.core.readers import Reader, to_pyformat
from ringside.core.settings import Settings
from ringside.core.warehouse import WarehouseNotBuiltError, served_path


class Query(Protocol):
    """SQL over the marts with its ``$name`` parameters (a compiled report query)."""

    @property
    def sql(self) -> str: ...

    @property
    def params(self) -> Mapping[str, object]: ...


BATCH_ROWS = 10_000
# The export's own DuckDB instance may use this much memory before a sort spills to disk
# (DuckDB's default is 80% of RAM, and an ORDER BY over a whole mart would take it).
DUCKDB_MEMORY_LIMIT = "128MB"
DUCKDB_THREADS = 2

# PostgreSQL type OIDs (pg_type) and the Arrow type their values are read into; any
# other type is exported as its text.
_PG_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int64(),
    23: pa.int64(),
    700: pa.float64(),
    701: pa.float64(),
    1700: pa.float64(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}
# numeric arrives as Decimal by default; exports carry floats like the API's JSON.
_NUMERIC_AS_FLOAT = psycopg2.extensions.new_type(
    (1700,), "NUMERIC_AS_FLOAT", lambda value, _cur: None if value is None else float(value)
)


@contextmanager
def open_batches(
    settings: Settings, query: Query, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatchReader]:
    """The rows of `query` as a reader of record batches of at most `batch_rows`
    rows; the warehouse connection stays open until the block exits. Raises
    `WarehouseNotBuiltError` when nothing has been built."""
    if settings.warehouse == "duckdb":
        with _duckdb_batches(settings, query, batch_rows) as batches:
            yield batches
        return
    with _postgres_batches(settings, query, batch_rows) as batches:
        yield batches


def count_rows(reader: Reader, query: Query) -> int:
    """How many rows `query` returns (checked before formats with a row limit)."""
    (row,) = reader.rows(f"select count(*) as n from ({query.sql}) q", query.params)
    return int(row["n"])


@contextmanager
def _duckdb_batches(
    settings: Settings, query: Query, batch_rows: int
) -> Iterator[pa.RecordBatchReader]:
    # An in-memory instance of its own with the served copy attached read-only: its
    # memory limit and spill directory leave the API's connections (which share one
    # instance per file) alone.
    served = served_path(settings.layout)
    with tempfile.TemporaryDirectory(prefix="ringside-export-") as spill:
        con = duckdb.connect(
            ":memory:",
            config={
                "memory_limit": DUCKDB_MEMORY_LIMIT,
                "threads": DUCKDB_THREADS,
                "temp_directory": spill,
            },
        )
        try:
            # ATTACH takes no parameters; the path is the layout's, never a client's.
            literal = "'" + str(served).replace("'", "''") + "'"
            con.execute(f"attach {literal} as served (read_only)")
            con.execute("use served")
            # DuckDB draws a progress bar on stdout for long queries by default.
            con.execute("set enable_progress_bar = false")
            reader = con.execute(query.sql, dict(query.params)).to_arrow_reader(batch_rows)
            yield _normalised(reader.schema, reader)
        finally:
            con.close()


@contextmanager
def _postgres_batches(
    settings: Settings, query: Query, batch_rows: int
) -> Iterator[pa.RecordBatchReader]:
    # A named cursor lives on the server: rows cross the wire `batch_rows` at a time.
    with postgres.read_only(settings) as con, con.cursor(name="ringside_export") as cur:
        psycopg2.extensions.register_type(_NUMERIC_AS_FLOAT, cur)
        try:
            cur.execute(to_pyformat(query.sql), dict(query.params))
            first = cur.fetchmany(batch_rows)
        except psycopg2.errors.UndefinedTable as exc:
            raise WarehouseNotBuiltError(
                f"the marts are not in schema {settings.pg_schema!r} of PostgreSQL "
                f"database {settings.pg_database!r}; run `ringside build` first"
            ) from exc
        # A named cursor describes its columns only after the first fetch.
        assert cur.description is not None  # a select always describes its columns
        schema = pa.schema(
            (column.name, _PG_TYPES.get(column.type_code, pa.string()))
            for column in cur.description
        )
        reader = pa.RecordBatchReader.from_batches(
            schema, _postgres_rows(cur, first, schema, batch_rows)
        )
        yield _normalised(schema, reader)


def _postgres_rows(
    cur: PgCursor, first: list[tuple[object, ...]], schema: pa.Schema, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    rows = first
    while rows:
        columns = zip(*rows, strict=True)
        yield pa.RecordBatch.from_arrays(
            [_array(values, f.type) for f, values in zip(schema, columns, strict=True)],
            schema=schema,
        )
        rows = cur.fetchmany(batch_rows)


def _array(values: tuple[object, ...], data_type: pa.DataType) -> pa.Array:
    if pa.types.is_string(data_type):
        return pa.array([None if v is None else str(v) for v in values], type=data_type)
    return pa.array(values, type=data_type)


def _export_type(data_type: pa.DataType) -> pa.DataType:
    if pa.types.is_decimal(data_type):
        return pa.int64() if data_type.scale == 0 else pa.float64()
    return data_type


def _normalised(schema: pa.Schema, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """`reader` with decimals as floats (integers at scale 0) and NaN as null."""
    target = pa.schema(pa.field(f.name, _export_type(f.type)) for f in schema)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            batch = batch.cast(target) if target != schema else batch
            yield pa.RecordBatch.from_arrays(
                [_without_nan(column) for column in batch.columns], schema=target
            )

    return pa.RecordBatchReader.from_batches(target, batches())


def _without_nan(column: pa.Array) -> pa.Array:
    if not pa.types.is_floating(column.type):
        return column
    return pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
