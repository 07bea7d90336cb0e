"""A throwaway PostgreSQL database per test (or per module) on the local server.

Without a reachable server the tests that need one skip with the reason; with
``CI=true`` they fail instead, so CI never passes by skipping them."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest

from ringside.core.postgres import connection_kwargs
from ringside.core.settings import Settings


def _admin() -> psycopg2.extensions.connection:
    kwargs = connection_kwargs(Settings()) | {"dbname": "postgres", "connect_timeout": 3}
    con = psycopg2.connect(**kwargs)
    con.autocommit = True
    return con


def require_postgres() -> None:
    """Skip (or, in CI, fail) when the PostgreSQL server is not reachable."""
    try:
        _admin().close()
    except psycopg2.OperationalError as exc:
        settings = Settings()
        reason = (
            f"PostgreSQL not reachable at {settings.pg_host}:{settings.pg_port} "
            f"({str(exc).strip()}); start it with `pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql) main start`"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)


@contextmanager
def throwaway_database() -> Iterator[str]:
    """Create a uniquely named database; drop it (and its connections) afterwards."""
    require_postgres()
    name = f"ringside_test_{uuid.uuid4().hex[:12]}"
    _execute(f'create database "{name}"')
    try:
        yield name
    finally:
        _execute(f'drop database if exists "{name}" with (force)')


def _execute(statement: str) -> None:
    # CREATE/DROP DATABASE refuse to run in a transaction: no `with connection:` here.
    admin = _admin()
    try:
        with admin.cursor() as cur:
            cur.execute(statement)
    finally:
        admin.close()
