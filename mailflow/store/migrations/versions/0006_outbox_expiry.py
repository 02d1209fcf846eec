"""An outbox row may carry the time after which it is no use (`expires_at`): a reminder is
worth sending only before its day's deadline. A row still pending then — the SMTP server
was down or refused the login until after it — becomes `expired` instead of arriving
late, telling someone who was already marked missing to send a report.

Existing rows get no expiry: they are delivered as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 10:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
