"""Alembic environment: migrates the engine that `ringside.core.appdb.upgrade` passes in
`config.attributes` (online only; there is no offline SQL generation)."""

from alembic import context

from ringside.core.appdb import access, alerts, kpis, notifications, reports  # noqa: F401  (register the tables)
from ringside.core.appdb.base import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters tables by copying them: later migrations get that for free.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
