"""Alembic environment: migrates the engine that `ringside.core.appdb.upgrade` passes in
`config.attributes` (online only; there is no offline SQL generation)."""

from alembic import context

from ringside.core.appdb import access, alerts, kpis, notifications, reports  # noqa: F401  (register the tables)
from ringside.core.appdb.base import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode copies a table and drops the old one: with foreign keys enforced, that
        # drop would cascade to the rows pointing at it (share links of a copied `reports`).
        # The pragma only takes effect outside a transaction, hence before it begins.
        connection.exec_driver_sql("pragma foreign_keys=off")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters tables by copying them: later migrations get that for free.
        render_as_batch=sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if sqlite:
        connection.exec_driver_sql("pragma foreign_keys=on")
