"""Leave entries (`leave_entries`), the history of changes to a person's day (`changes`),
and withdrawn violations: a violation withdrawn by leave or HR's correction is kept,
with the reason, who and when, and counted in no figure.

Every existing violation stays as it was, not withdrawn.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('withdrawn_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', sa.String(length=32), nullable=True))
    op.create_table(
        'leave_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('date_from', sa.Date(), nullable=False),
        sa.Column('date_to', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('half_day', sa.Boolean(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('decided_by', sa.String(length=320), nullable=True),
        sa.Column('message_id', sa.String(length=300), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_at', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_leave_person_dates', 'leave_entries', ['email', 'date_from', 'date_to'])
    op.create_table(
        'changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.String(length=32), nullable=False),
        sa.Column('by', sa.String(length=320), nullable=False),
        sa.Column('via', sa.String(length=300), nullable=False),
        sa.Column('what', sa.Text(), nullable=False),
        sa.Column('before', sa.Text(), nullable=False),
        sa.Column('after', sa.Text(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_changes_person_day', 'changes', ['email', 'date'])


def downgrade() -> None:
    op.drop_index('ix_changes_person_day', table_name='changes')
    op.drop_table('changes')
    op.drop_index('ix_leave_person_dates', table_name='leave_entries')
    op.drop_table('leave_entries')
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('withdrawn_by')
        batch_op.drop_column('withdrawn_reason')
        batch_op.drop_column('withdrawn')
