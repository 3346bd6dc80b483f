"""initial schema

Revision ID: 0001
Revises: 
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('groups',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('template', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('hosts',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('im_mad', sa.String(length=64), nullable=False),
    sa.Column('vm_mad', sa.String(length=64), nullable=False),
    sa.Column('tm_mad', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('prev_state', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('total_cpu', sa.Integer(), nullable=False),
    sa.Column('total_mem', sa.Integer(), nullable=False),
    sa.Column('last_mon_time', sa.Integer(), nullable=False),
    sa.Column('template', sa.Text(), nullable=False),
    sa.Column('monitoring', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('sequences',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('next_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind')
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('password', sa.String(length=512), nullable=False),
    sa.Column('gid', sa.Integer(), nullable=False),
    sa.Column('auth_driver', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('template', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['gid'], ['groups.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('images',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('uid', sa.Integer(), nullable=False),
    sa.Column('gid', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('permissions', sa.Integer(), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('type', sa.Integer(), nullable=False),
    sa.Column('template', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['uid'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('vms',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('uid', sa.Integer(), nullable=False),
    sa.Column('gid', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('permissions', sa.Integer(), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('lcm_state', sa.Integer(), nullable=False),
    sa.Column('prev_state', sa.Integer(), nullable=False),
    sa.Column('prev_lcm_state', sa.Integer(), nullable=False),
    sa.Column('resched', sa.Integer(), nullable=False),
    sa.Column('stime', sa.Integer(), nullable=False),
    sa.Column('etime', sa.Integer(), nullable=False),
    sa.Column('deploy_id', sa.String(length=255), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('cpu', sa.Float(), nullable=False),
    sa.Column('vcpu', sa.Integer(), nullable=False),
    sa.Column('memory', sa.Integer(), nullable=False),
    sa.Column('template', sa.Text(), nullable=False),
    sa.Column('user_template', sa.Text(), nullable=False),
    sa.Column('last_poll', sa.Integer(), nullable=False),
    sa.Column('monitoring', sa.Text(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('hard', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['hosts.id'], ),
    sa.ForeignKeyConstraint(['uid'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('vms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vms_host_id'), ['host_id'], unique=False)
        batch_op.create_index('ix_vms_state', ['state', 'lcm_state'], unique=False)

    op.create_table('vnets',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('uid', sa.Integer(), nullable=False),
    sa.Column('gid', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('permissions', sa.Integer(), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('bridge', sa.String(length=255), nullable=False),
    sa.Column('vn_mad', sa.String(length=64), nullable=False),
    sa.Column('template', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['uid'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('address_ranges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vnet_id', sa.Integer(), nullable=False),
    sa.Column('ar_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('ip_start', sa.BigInteger(), nullable=True),
    sa.Column('mac_start', sa.BigInteger(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('next_index', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['vnet_id'], ['vnets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('vnet_id', 'ar_id')
    )
    op.create_table('history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vm_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('vm_mad', sa.String(length=64), nullable=False),
    sa.Column('tm_mad', sa.String(length=64), nullable=False),
    sa.Column('stime', sa.Integer(), nullable=False),
    sa.Column('etime', sa.Integer(), nullable=False),
    sa.Column('pstime', sa.Integer(), nullable=False),
    sa.Column('petime', sa.Integer(), nullable=False),
    sa.Column('rstime', sa.Integer(), nullable=False),
    sa.Column('retime', sa.Integer(), nullable=False),
    sa.Column('estime', sa.Integer(), nullable=False),
    sa.Column('eetime', sa.Integer(), nullable=False),
    sa.Column('action', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['vm_id'], ['vms.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('vm_id', 'seq')
    )
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_history_vm_id'), ['vm_id'], unique=False)

    op.create_table('leases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vnet_id', sa.Integer(), nullable=False),
    sa.Column('ar_id', sa.Integer(), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('vm_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['vnet_id'], ['vnets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('vnet_id', 'ar_id', 'idx')
    )
    with op.batch_alter_table('leases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leases_vm_id'), ['vm_id'], unique=False)



    op.bulk_insert(
        sa.table("sequences", sa.column("kind", sa.String), sa.column("next_id", sa.Integer)),
        [{"kind": kind, "next_id": 0} for kind in ("vm", "host", "vnet", "image", "user", "group", "template")],
    )


def downgrade() -> None:
    with op.batch_alter_table('leases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leases_vm_id'))

    op.drop_table('leases')
    with op.batch_alter_table('history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_history_vm_id'))

    op.drop_table('history')
    op.drop_table('address_ranges')
    op.drop_table('vnets')
    with op.batch_alter_table('vms', schema=None) as batch_op:
        batch_op.drop_index('ix_vms_state')
        batch_op.drop_index(batch_op.f('ix_vms_host_id'))

    op.drop_table('vms')
    op.drop_table('images')
    op.drop_table('users')
    op.drop_table('sequences')
    op.drop_table('hosts')
    op.drop_table('groups')
