"""A delivery with an unknown outcome stays listed until someone resolves it: when it
became unknown (`unknown_since`), how often it was sent again (`resends`), and who
resolved it, when and how (`resolved_by`, `resolved_at`, `resolution`).

Rows already `unknown` keep their state and get `unknown_since` from the time their data
was sent (else their queue time), so they are listed from now on.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unknown_since', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('resends', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('resolution', sa.Text(), nullable=True))
    op.execute("UPDATE outbox SET unknown_since = COALESCE(data_at, queued_at) "
               "WHERE state = 'unknown'")


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        for name in ('resolution', 'resolved_at', 'resolved_by', 'resends', 'unknown_since'):
            batch_op.drop_column(name)
