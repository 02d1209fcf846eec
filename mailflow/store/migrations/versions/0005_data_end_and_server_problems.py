"""The outbox row records when the end of its DATA was about to be written (`data_at`),
so a row left `sending` by a process that stopped before that point is known not
delivered and goes back to pending, and only one stopped after it has an unknown outcome;
and `server_problems` keeps why a server cannot be used now (a refused login, a TLS
failure, no connection), so `status` and `send` can say that mail waits for it.

Rows already `sending` when this runs were claimed by the earlier code, which could not
tell where it stopped: they get a `data_at` and stay treated as possibly delivered.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_at', sa.String(length=32), nullable=True))
    op.execute("UPDATE outbox SET data_at = COALESCE(claimed_at, queued_at) "
               "WHERE state = 'sending'")
    op.create_table(
        'server_problems',
        sa.Column('server', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('since', sa.String(length=32), nullable=False),
        sa.Column('seen_at', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('server'),
    )


def downgrade() -> None:
    op.drop_table('server_problems')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('data_at')
