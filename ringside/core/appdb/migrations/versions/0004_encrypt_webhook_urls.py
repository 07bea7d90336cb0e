"""encrypt webhook URLs and recipient lists at rest

Alert rules' channels, reports' recipients and notification deliveries' destinations are
sealed with the installation's key (ringside/core/crypto.py, bound by
ringside.core.appdb.upgrade); delivery errors lose the URLs and addresses they quoted.
Reading tolerates plain values, so a row this has not reached yet still reads.

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-12 10:00:00.000000
"""

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from ringside.core.crypto import seal, unseal
from ringside.core.redaction import redact_text

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The sealed columns (the models' SealedJSON, SealedText): a JSON document is sealed as
# a JSON string holding its text.
DOCUMENTS = (("alert_rules", "channels"), ("reports", "recipients"))
DELIVERIES = "notification_deliveries"


def upgrade() -> None:
    for name, column in DOCUMENTS:
        _rewrite(name, column, sa.JSON(), lambda document: seal(json.dumps(document)))
    _rewrite(DELIVERIES, "destination", sa.Text(), seal)
    _rewrite(DELIVERIES, "last_error", sa.Text(), redact_text)


def downgrade() -> None:
    for name, column in DOCUMENTS:
        _rewrite(name, column, sa.JSON(), _opened)
    _rewrite(DELIVERIES, "destination", sa.Text(), unseal)


def _opened(document: Any) -> Any:
    # A document left plain (see above) is an object, a sealed one a string.
    return json.loads(unseal(document)) if isinstance(document, str) else document


def _rewrite(
    name: str, column: str, type_: sa.types.TypeEngine[Any], change: Callable[[Any], Any]
) -> None:
    """Every non-null value of `column` replaced by `change` of it."""
    table = sa.table(name, sa.column("id", sa.Integer()), sa.column(column, type_))
    bind = op.get_bind()
    rows = bind.execute(sa.select(table.c.id, table.c[column]).where(table.c[column].is_not(None)))
    for row_id, value in rows.all():
        bind.execute(table.update().where(table.c.id == row_id).values({column: change(value)}))
