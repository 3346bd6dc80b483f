"""Native id sequences on PostgreSQL and MariaDB

Revision ID: 0002
Revises: 0001

An allocate on those engines no longer holds a row lock on the ``sequences`` table until it
commits, so concurrent allocates do not queue behind each other's commit. SQLite keeps the table.
"""

import sqlalchemy as sa
from alembic import op

from nebula_core.db.engine import sequence_name

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID_KINDS = ("vm", "host", "vnet", "image", "user", "group", "template")  # those of this revision; later ones add theirs


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return
    counters: dict[str, int] = {kind: next_id for kind, next_id in bind.execute(sa.text("SELECT kind, next_id FROM sequences"))}
    for kind in ID_KINDS:
        op.execute(sa.schema.CreateSequence(sa.Sequence(sequence_name(kind), start=counters.get(kind, 0), minvalue=0)))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for kind in ID_KINDS:
        op.execute(sa.schema.DropSequence(sa.Sequence(sequence_name(kind))))
