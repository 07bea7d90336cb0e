"""Engine, sessions and migrations of the application database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ringside.core.crypto import keyring_bound
from ringside.core.settings import Settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

_upgraded: set[str] = set()
_upgrade_lock = threading.Lock()


def database_url(settings: Settings) -> str:
    """`RINGSIDE_APP_DB_URL` when set, else the SQLite file of the layout."""
    if settings.app_db_url is not None:
        return settings.app_db_url.get_secret_value()
    return f"sqlite:///{settings.layout.app_db_path}"


@lru_cache
def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url)
        # SQLite enforces foreign keys (ON DELETE of the history) only when asked to.
        event.listen(engine, "connect", _sqlite_foreign_keys)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("pragma foreign_keys=on")
    cursor.close()


def engine_for(settings: Settings) -> Engine:
    """The (process-wide) engine of the configured application database."""
    if settings.app_db_url is None:
        settings.layout.app_db_path.parent.mkdir(parents=True, exist_ok=True)
    return _engine(database_url(settings))


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration, in code: the scripts ship inside this package, so no
    alembic.ini is needed; `migrations/env.py` runs on the engine given here."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(settings: Settings) -> None:
    """Bring the application database to the newest migration (a no-op when it is)."""
    engine = engine_for(settings)
    # A migration that encrypts (0004) seals with this installation's key.
    with keyring_bound(settings):
        command.upgrade(alembic_config(engine), "head")
    _upgraded.add(database_url(settings))


@contextmanager
def session(settings: Settings) -> Iterator[Session]:
    """A session on the application database, migrated on first use in this process;
    commits when the block succeeds, rolls back when it raises. Its sealed columns
    (sealed.py) encrypt and decrypt with the key of `settings`."""
    url = database_url(settings)
    if url not in _upgraded:
        with _upgrade_lock:
            if url not in _upgraded:
                upgrade(settings)
    with (
        keyring_bound(settings),
        sessionmaker(engine_for(settings), expire_on_commit=False).begin() as db,
    ):
        yield db
