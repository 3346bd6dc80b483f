"""Script hooks and their execution log

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import MEDIUMTEXT

from nebula_core.db.engine import sequence_name

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BODY = sa.Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "hooks",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("template", BODY, nullable=False),
        sa.Column("lock_level", sa.Integer(), nullable=False),
        sa.Column("lock_time", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "hook_executions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hook_id", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.Integer(), nullable=False),
        sa.Column("arguments", BODY, nullable=False),
        sa.Column("argv", BODY, nullable=False),
        sa.Column("command", BODY, nullable=False),
        sa.Column("stdout", BODY, nullable=False),
        sa.Column("stderr", BODY, nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("remote_host", sa.String(length=255), nullable=False),
        sa.Column("retry", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["hook_id"], ["hooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hook_id", "execution_id"),
    )
    op.create_index("ix_hook_executions_hook_id", "hook_executions", ["hook_id"])
    op.create_index("ix_hook_executions_timestamp", "hook_executions", ["timestamp"])
    # hook ids, from 0: a counter row on SQLite, a native sequence elsewhere (as 0001/0002 made the others)
    if op.get_bind().dialect.name == "sqlite":
        op.execute(sa.text("INSERT INTO sequences (kind, next_id) VALUES ('hook', 0)"))
    else:
        op.execute(sa.schema.CreateSequence(sa.Sequence(sequence_name("hook"), start=0, minvalue=0)))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(sa.text("DELETE FROM sequences WHERE kind = 'hook'"))
    else:
        op.execute(sa.schema.DropSequence(sa.Sequence(sequence_name("hook"))))
    op.drop_table("hook_executions")
    op.drop_table("hooks")
