"""Templates and reports as MEDIUMTEXT on MariaDB (TEXT stops at 64 KiB)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import MEDIUMTEXT

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BODIES = {
    "groups": ("template",), "users": ("template",), "hosts": ("template", "monitoring"),
    "vms": ("template", "user_template", "monitoring"), "history": ("reason",), "vnets": ("template",),
    "images": ("template",), "vm_templates": ("template",),
}


def _retype(new: sa.types.TypeEngine[str], old: sa.types.TypeEngine[str]) -> None:
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return  # SQLite's and PostgreSQL's TEXT have no such limit
    for table, columns in BODIES.items():
        for column in columns:
            op.alter_column(table, column, type_=new, existing_type=old, existing_nullable=False)


def upgrade() -> None:
    _retype(MEDIUMTEXT(), sa.Text())


def downgrade() -> None:
    _retype(sa.Text(), MEDIUMTEXT())
