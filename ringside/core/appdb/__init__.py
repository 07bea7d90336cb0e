"""The application database: Ringside's own state (KPI targets, alert rules, alert
history and notification deliveries), as opposed to the analytical warehouse.

SQLAlchemy 2.0 typed models, one module per table group (`kpis`, `alerts`,
`notifications`), migrated by Alembic (`migrations/`, configured in code). A SQLite file
under RINGSIDE_HOME by default, PostgreSQL when `RINGSIDE_APP_DB_URL` is set.
"""

from ringside.core.appdb.base import Base, utcnow
from ringside.core.appdb.engine import database_url, engine_for, session, upgrade

__all__ = [
    "Base",
    "database_url",
    "engine_for",
    "session",
    "upgrade",
    "utcnow",
]
