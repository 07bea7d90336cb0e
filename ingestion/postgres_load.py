"""Landed Parquet -> PostgreSQL raw tables (``RINGSIDE_WAREHOUSE=postgres``).

Landing stays the same on both warehouses (append-only Parquet, ingestion/landing.py);
on PostgreSQL this second step copies it into tables dbt reads as its sources:

- ``<pg_raw_schema>.events``: the columns of ``RAW_EVENT_SCHEMA`` plus ``event_date``
  (the hive partition of the file). Loaded per event day, idempotently: in one
  transaction the day's rows are deleted and all of the day's files copied in again,
  so a day loaded twice is present once and a day that got a new file is complete.
- ``<pg_raw_schema>.content`` / ``accounts``: the snapshot columns plus
  ``snapshot_file`` (the file name), replaced per file; ``latest_snapshot`` picks the
  newest ``snapshot_at`` as on DuckDB.

Rows travel with COPY (pyarrow writes CSV in memory), never row-by-row inserts.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from psycopg2 import sql
from psycopg2.extensions import cursor as Cursor

from ingestion.schema import RAW_EVENT_SCHEMA, SNAPSHOT_SCHEMAS
from ringside.core.postgres import connect
from ringside.core.settings import Settings

EVENTS_TABLE = "events"
SNAPSHOT_FILE_COLUMN = "snapshot_file"
EVENT_SCHEMA = RAW_EVENT_SCHEMA.append(pa.field("event_date", pa.date32(), nullable=False))
TABLE_SCHEMAS: dict[str, pa.Schema] = {
    EVENTS_TABLE: EVENT_SCHEMA,
    **{
        name: schema.append(pa.field(SNAPSHOT_FILE_COLUMN, pa.string(), nullable=False))
        for name, schema in SNAPSHOT_SCHEMAS.items()
    },
}


@dataclass(frozen=True)
class LoadReport:
    days: int
    files: int
    rows: int


def postgres_type(arrow_type: pa.DataType) -> str:
    """The PostgreSQL column type for an Arrow type of the landed files."""
    if pa.types.is_string(arrow_type):
        return "text"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_int64(arrow_type):
        return "bigint"
    if pa.types.is_float64(arrow_type):
        return "double precision"
    if pa.types.is_date32(arrow_type):
        return "date"
    # Landed timestamps are UTC without a zone (ingestion/schema.py), as dbt reads them.
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is None:
        return "timestamp"
    raise TypeError(f"no PostgreSQL type for landed column type {arrow_type}")


def ensure_raw_tables(settings: Settings) -> None:
    """Create the raw schema and its tables when missing."""
    con = connect(settings)
    try:
        with con, con.cursor() as cur:
            _create_tables(cur, settings)
    finally:
        con.close()


def _create_tables(cur: Cursor, settings: Settings) -> None:
    cur.execute(
        sql.SQL("create schema if not exists {}").format(sql.Identifier(settings.pg_raw_schema))
    )
    for table, schema in TABLE_SCHEMAS.items():
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}{}").format(
                sql.Identifier(field.name),
                sql.SQL(postgres_type(field.type)),
                sql.SQL("" if field.nullable else " not null"),
            )
            for field in schema
        )
        cur.execute(
            sql.SQL("create table if not exists {} ({})").format(_table(settings, table), columns)
        )
        # Columns added to the landing schema later arrive null in older rows.
        for field in schema:
            if field.nullable:
                cur.execute(
                    sql.SQL("alter table {} add column if not exists {} {}").format(
                        _table(settings, table),
                        sql.Identifier(field.name),
                        sql.SQL(postgres_type(field.type)),
                    )
                )
    # Loading deletes by day and dbt's incremental runs filter by day.
    cur.execute(
        sql.SQL("create index if not exists events_event_date on {} (event_date)").format(
            _table(settings, EVENTS_TABLE)
        )
    )


def load_partitions(settings: Settings, days: Iterable[date]) -> LoadReport:
    """Replace the rows of each given event day with all of that day's landed files.
    A day without landed files ends up empty."""
    ensure_raw_tables(settings)
    days = sorted(set(days))
    landed = settings.layout.landed_event_files(days=days)
    table = _table(settings, EVENTS_TABLE)
    files = rows = 0
    con = connect(settings)
    try:
        for day in days:
            with con, con.cursor() as cur:  # one transaction per day
                cur.execute(sql.SQL("delete from {} where event_date = %s").format(table), (day,))
                for path in landed.get(day, []):
                    events = pq.read_table(path, schema=RAW_EVENT_SCHEMA)
                    dates = pa.array([day] * events.num_rows, pa.date32())
                    rows += _copy(cur, table, events.append_column("event_date", dates))
                    files += 1
    finally:
        con.close()
    return LoadReport(days=len(days), files=files, rows=rows)


def load_snapshots(settings: Settings) -> LoadReport:
    """Copy every landed snapshot file not loaded yet (each file replaces its rows)."""
    ensure_raw_tables(settings)
    files = rows = 0
    con = connect(settings)
    try:
        for name, schema in SNAPSHOT_SCHEMAS.items():
            table = _table(settings, name)
            with con.cursor() as cur:
                cur.execute(
                    sql.SQL("select distinct {} from {}").format(
                        sql.Identifier(SNAPSHOT_FILE_COLUMN), table
                    )
                )
                loaded = {file for (file,) in cur.fetchall()}
            for path in sorted(settings.layout.snapshot_dir(name).glob("*.parquet")):
                if path.name in loaded:
                    continue
                snapshot = pq.read_table(path, schema=schema)
                names = pa.array([path.name] * snapshot.num_rows, pa.string())
                with con, con.cursor() as cur:
                    cur.execute(
                        sql.SQL("delete from {} where {} = %s").format(
                            table, sql.Identifier(SNAPSHOT_FILE_COLUMN)
                        ),
                        (path.name,),
                    )
                    rows += _copy(cur, table, snapshot.append_column(SNAPSHOT_FILE_COLUMN, names))
                files += 1
    finally:
        con.close()
    return LoadReport(days=0, files=files, rows=rows)


def _table(settings: Settings, name: str) -> sql.Composed:
    return sql.Identifier(settings.pg_raw_schema, name)


def _copy(cur: Cursor, table: sql.Composed, rows: pa.Table) -> int:
    """COPY a table in as CSV: nulls are unquoted empty fields, empty strings quoted."""
    buffer = io.BytesIO()
    pa_csv.write_csv(rows, buffer, pa_csv.WriteOptions(include_header=False))
    buffer.seek(0)
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in rows.column_names)
    statement = sql.SQL("copy {} ({}) from stdin with (format csv)").format(table, columns)
    cur.copy_expert(statement.as_string(cur), buffer)
    return rows.num_rows
