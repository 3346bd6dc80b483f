"""Group memberships, login tokens, object locks, vnet reservations

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LOCKABLE = ("vms", "vnets", "images", "vm_templates")


def upgrade() -> None:
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("user_id", "group_id"),
    )
    op.create_index("ix_memberships_group_id", "memberships", ["group_id"])
    op.execute("INSERT INTO memberships (user_id, group_id) SELECT id, gid FROM users")
    op.create_table(
        "login_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("egid", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_index("ix_login_tokens_user_id", "login_tokens", ["user_id"])
    op.add_column("leases", sa.Column("reservation_id", sa.Integer(), nullable=True))
    op.create_index("ix_leases_reservation_id", "leases", ["reservation_id"])
    op.add_column("vnets", sa.Column("parent_id", sa.Integer(), nullable=True))
    for table in LOCKABLE:
        op.add_column(table, sa.Column("lock_level", sa.Integer(), server_default="0", nullable=False))
        op.add_column(table, sa.Column("lock_time", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    for table in LOCKABLE:
        op.drop_column(table, "lock_time")
        op.drop_column(table, "lock_level")
    op.drop_column("vnets", "parent_id")
    op.drop_index("ix_leases_reservation_id", "leases")
    op.drop_column("leases", "reservation_id")
    op.drop_table("login_tokens")
    op.drop_table("memberships")
