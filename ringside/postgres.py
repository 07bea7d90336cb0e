"""Connections to the PostgreSQL warehouse (``RINGSIDE_WAREHOUSE=postgres``).

The one place that turns the ``pg_*`` settings into connections: the loader and dbt's
environment use the owner (``pg_user``), the API the read-only ``pg_reader_user``.
"""

from __future__ import annotations

import psycopg2
from psycopg2.extensions import connection as Connection

from ringside.settings import Settings


def connection_kwargs(settings: Settings, *, reader: bool = False) -> dict[str, object]:
    """psycopg2 keyword arguments for the owner, or for the read-only reader role."""
    user, password = (
        (settings.pg_reader_user, settings.pg_reader_password)
        if reader
        else (settings.pg_user, settings.pg_password)
    )
    kwargs: dict[str, object] = {
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
