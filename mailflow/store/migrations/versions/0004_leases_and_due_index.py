"""Leases, so that several instances share the mailbox folders and the scheduled jobs;
and an outbox index in the order rows are claimed (due time, then id), so a claim reads
one index entry instead of sorting every pending row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 07:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'leases',
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('holder', sa.String(length=200), nullable=False),
        sa.Column('acquired_at', sa.String(length=32), nullable=False),
        sa.Column('expires_at', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_state_due')
        batch_op.create_index('ix_outbox_due', ['state', 'next_attempt_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')
        batch_op.create_index('ix_outbox_state_due', ['state', 'next_attempt_at'], unique=False)
    op.drop_table('leases')
