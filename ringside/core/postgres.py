"""Connections to the PostgreSQL warehouse (``RINGSIDE_WAREHOUSE=postgres``).

The one place that turns the ``pg_*`` settings into connections: the loader and dbt's
environment use the owner (``pg_user``), the API the read-only ``pg_reader_user``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NotRequired, TypedDict

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from ringside.core.settings import Settings


class ConnectionKwargs(TypedDict):
    """Keyword arguments of ``psycopg2.connect`` (libpq's connection parameters)."""

    host: str
    port: int
    user: str
    dbname: str
    password: NotRequired[str]


def connection_kwargs(settings: Settings, *, reader: bool = False) -> ConnectionKwargs:
    """psycopg2 keyword arguments for the owner, or for the read-only reader role."""
    user, password = (
        (settings.pg_reader_user, settings.pg_reader_password)
        if reader
        else (settings.pg_user, settings.pg_password)
    )
    kwargs: ConnectionKwargs = {
        "host": settings.pg_host,
        "port": settings.pg_port,
        "user": user,
        "dbname": settings.pg_database,
    }
    if password.get_secret_value():
        kwargs["password"] = password.get_secret_value()
    return kwargs


def connect(settings: Settings, *, reader: bool = False) -> Connection:
    """A new connection to the warehouse database (the caller closes it)."""
    return psycopg2.connect(**connection_kwargs(settings, reader=reader))


@contextmanager
def read_only(settings: Settings) -> Iterator[Connection]:
    """A new read-only session as the reader role with the marts' schema on the search
    path (readers outside the API's pool: scheduled reports, exports); closed on exit."""
    con = connect(settings, reader=True)
    try:
        con.set_session(readonly=True)
        with con.cursor() as cur:
            cur.execute(sql.SQL("set search_path to {}").format(sql.Identifier(settings.pg_schema)))
        yield con
    finally:
        con.close()


def grant_reader(settings: Settings) -> None:
    """Make sure the read-only role exists and may read everything dbt builds in
    ``pg_schema``, now (tables built so far) and later (default privileges for tables
    ``pg_user`` creates). It may not write or create anything. Run after each build."""
    reader = sql.Identifier(settings.pg_reader_user)
    schema = sql.Identifier(settings.pg_schema)
    password = settings.pg_reader_password.get_secret_value()
    create = sql.SQL("create role {} login").format(reader) + (
        sql.SQL(" password {}").format(sql.Literal(password)) if password else sql.SQL("")
    )
    con = connect(settings)
    try:
        with con, con.cursor() as cur:
            # Roles are shared by every database of the server: it may exist already, or
            # be created at this moment by a build into another database.
            cur.execute(
                sql.SQL(
                    "do $$ begin {}; "
                    "exception when duplicate_object or unique_violation then null; end $$"
                ).format(create)
            )
            for statement in (
                "create schema if not exists {schema}",
                "grant connect on database {database} to {reader}",
                "grant usage on schema {schema} to {reader}",
                "grant select on all tables in schema {schema} to {reader}",
                "alter default privileges for role {owner} in schema {schema} "
                "grant select on tables to {reader}",
            ):
                cur.execute(
                    sql.SQL(statement).format(
                        schema=schema,
                        reader=reader,
                        owner=sql.Identifier(settings.pg_user),
                        database=sql.Identifier(settings.pg_database),
                    )
                )
    finally:
        con.close()
