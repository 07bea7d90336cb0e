"""principals own reports, dashboards and share links; server-side web sessions

Until now a key's name was the identity: reports, dashboards and share links named their
owner by it, so a new key given a revoked key's name inherited its objects. From here a
`principals` row is the identity and everything points at its id. Existing data keeps its
meaning: every distinct name becomes one principal (keys of one name were one identity
before, so they stay one), the default reports and dashboards (owner "ringside") become
unowned, and links a scheduled delivery made (created by "run N") become the report
owner's.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 20:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The owner name the default reports and dashboards were saved under.
SYSTEM_OWNER = "ringside"

principals = sa.table(
    "principals",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("email", sa.String),
    sa.column("created_at", sa.DateTime),
)
api_keys = sa.table(
    "api_keys",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("email", sa.String),
    sa.column("created_at", sa.DateTime),
    sa.column("principal_id", sa.Integer),
)
reports = sa.table(
    "reports",
    sa.column("id", sa.Integer),
    sa.column("owner", sa.String),
    sa.column("owner_id", sa.Integer),
    sa.column("shared_with_users", sa.JSON),
)
dashboards = sa.table(
    "dashboards",
    sa.column("id", sa.Integer),
    sa.column("owner", sa.String),
    sa.column("owner_id", sa.Integer),
)
share_links = sa.table(
    "share_links",
    sa.column("id", sa.Integer),
    sa.column("report_id", sa.Integer),
    sa.column("created_by", sa.String),
    sa.column("created_by_id", sa.Integer),
)


def upgrade() -> None:
    op.create_table(
        "principals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_principals")),
    )
    op.create_index(op.f("ix_principals_name"), "principals", ["name"], unique=False)
    for table in ("api_keys", "reports", "dashboards"):
        column = "principal_id" if table == "api_keys" else "owner_id"
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
    with op.batch_alter_table("share_links") as batch_op:
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))

    ids = _principal_per_name(op.get_bind())
    _point_at_principals(op.get_bind(), ids)

    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_index("ix_api_keys_name")
        batch_op.drop_column("name")
        batch_op.drop_column("email")
        batch_op.alter_column("principal_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(op.f("ix_api_keys_principal_id"), ["principal_id"])
        batch_op.create_foreign_key(
            op.f("fk_api_keys_principal_id_principals"), "principals", ["principal_id"], ["id"]
        )
    with op.batch_alter_table("reports") as batch_op:
        batch_op.drop_index("ix_reports_owner")
        batch_op.drop_column("owner")
        batch_op.create_index(op.f("ix_reports_owner_id"), ["owner_id"])
        batch_op.create_foreign_key(
            op.f("fk_reports_owner_id_principals"), "principals", ["owner_id"], ["id"]
        )
    with op.batch_alter_table("dashboards") as batch_op:
        batch_op.drop_column("owner")
        batch_op.create_index(op.f("ix_dashboards_owner_id"), ["owner_id"])
        batch_op.create_foreign_key(
            op.f("fk_dashboards_owner_id_principals"), "principals", ["owner_id"], ["id"]
        )
    with op.batch_alter_table("share_links") as batch_op:
        batch_op.drop_column("created_by")
        batch_op.create_index(op.f("ix_share_links_created_by_id"), ["created_by_id"])
        batch_op.create_foreign_key(
            op.f("fk_share_links_created_by_id_principals"), "principals", ["created_by_id"], ["id"]
        )

    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_web_sessions_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    op.create_index(op.f("ix_web_sessions_key_id"), "web_sessions", ["key_id"], unique=False)


def _principal_per_name(bind: sa.Connection) -> dict[str, int]:
    """One principal per name found anywhere (keys first, in key order, each with the
    e-mail of its newest key that has one)."""
    names: dict[str, dict[str, Any]] = {}
    for row in bind.execute(sa.select(api_keys).order_by(api_keys.c.id)):
        known = names.setdefault(row.name, {"email": None, "created_at": row.created_at})
        known["email"] = row.email or known["email"]
    now = datetime.now(UTC).replace(tzinfo=None)
    others = [
        *bind.scalars(sa.select(reports.c.owner).order_by(reports.c.id)),
        *(
            name
            for users in bind.scalars(sa.select(reports.c.shared_with_users))
            for name in users or []
        ),
        *bind.scalars(sa.select(dashboards.c.owner).order_by(dashboards.c.id)),
    ]
    for name in others:
        if name != SYSTEM_OWNER:
            names.setdefault(name, {"email": None, "created_at": now})
    ids = {}
    for name, fields in names.items():
        ids[name] = bind.execute(
            sa.insert(principals).values(name=name, **fields).returning(principals.c.id)
        ).scalar_one()
    return ids


def _point_at_principals(bind: sa.Connection, ids: dict[str, int]) -> None:
    for row in bind.execute(sa.select(api_keys.c.id, api_keys.c.name)).all():
        bind.execute(
            sa.update(api_keys).where(api_keys.c.id == row.id).values(principal_id=ids[row.name])
        )
    for row in bind.execute(sa.select(reports)).all():
        bind.execute(
            sa.update(reports)
            .where(reports.c.id == row.id)
            .values(
                owner_id=ids.get(row.owner),
                shared_with_users=[ids[name] for name in row.shared_with_users or []],
            )
        )
    for row in bind.execute(sa.select(dashboards)).all():
        bind.execute(
            sa.update(dashboards)
            .where(dashboards.c.id == row.id)
            .values(owner_id=ids.get(row.owner))
        )
    owner_of = dict(bind.execute(sa.select(reports.c.id, reports.c.owner_id)).tuples().all())
    for row in bind.execute(sa.select(share_links)).all():
        creator = ids.get(row.created_by, owner_of.get(row.report_id))
        bind.execute(
            sa.update(share_links).where(share_links.c.id == row.id).values(created_by_id=creator)
        )


def downgrade() -> None:
    """Back to names (a principal's name; unowned rows to "ringside")."""
    op.drop_index(op.f("ix_web_sessions_key_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=200), nullable=True))
    for table in ("reports", "dashboards"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("owner", sa.String(length=100), nullable=True))
    with op.batch_alter_table("share_links") as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(length=100), nullable=True))

    bind = op.get_bind()
    people = {row.id: row for row in bind.execute(sa.select(principals))}
    for row in bind.execute(sa.select(api_keys.c.id, api_keys.c.principal_id)).all():
        person = people[row.principal_id]
        bind.execute(
            sa.update(api_keys)
            .where(api_keys.c.id == row.id)
            .values(name=person.name, email=person.email)
        )
    for row in bind.execute(sa.select(reports)).all():
        bind.execute(
            sa.update(reports)
            .where(reports.c.id == row.id)
            .values(
                owner=people[row.owner_id].name if row.owner_id else SYSTEM_OWNER,
                shared_with_users=[
                    people[i].name for i in row.shared_with_users or [] if i in people
                ],
            )
        )
    for row in bind.execute(sa.select(dashboards)).all():
        owner = people[row.owner_id].name if row.owner_id else SYSTEM_OWNER
        bind.execute(sa.update(dashboards).where(dashboards.c.id == row.id).values(owner=owner))
    for row in bind.execute(sa.select(share_links)).all():
        bind.execute(
            sa.update(share_links)
            .where(share_links.c.id == row.id)
            .values(
                created_by=people[row.created_by_id].name if row.created_by_id else SYSTEM_OWNER
            )
        )

    with op.batch_alter_table("share_links") as batch_op:
        batch_op.drop_constraint(op.f("fk_share_links_created_by_id_principals"), "foreignkey")
        batch_op.drop_index(op.f("ix_share_links_created_by_id"))
        batch_op.drop_column("created_by_id")
        batch_op.alter_column("created_by", existing_type=sa.String(100), nullable=False)
    with op.batch_alter_table("dashboards") as batch_op:
        batch_op.drop_constraint(op.f("fk_dashboards_owner_id_principals"), "foreignkey")
        batch_op.drop_index(op.f("ix_dashboards_owner_id"))
        batch_op.drop_column("owner_id")
        batch_op.alter_column("owner", existing_type=sa.String(100), nullable=False)
    with op.batch_alter_table("reports") as batch_op:
        batch_op.drop_constraint(op.f("fk_reports_owner_id_principals"), "foreignkey")
        batch_op.drop_index(op.f("ix_reports_owner_id"))
        batch_op.drop_column("owner_id")
        batch_op.alter_column("owner", existing_type=sa.String(100), nullable=False)
        batch_op.create_index("ix_reports_owner", ["owner"])
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_constraint(op.f("fk_api_keys_principal_id_principals"), "foreignkey")
        batch_op.drop_index(op.f("ix_api_keys_principal_id"))
        batch_op.drop_column("principal_id")
        batch_op.alter_column("name", existing_type=sa.String(100), nullable=False)
        batch_op.create_index("ix_api_keys_name", ["name"])
    op.drop_index(op.f("ix_principals_name"), table_name="principals")
    op.drop_table("principals")
