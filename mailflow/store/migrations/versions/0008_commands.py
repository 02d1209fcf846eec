"""Commands by mail (`commands`): each leave request, approval or refusal, registration and
correction mail, applied or refused with the reason, once per Message-ID.

Nothing recorded before changes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'commands',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.String(length=300), nullable=False),
        sa.Column('mail_id', sa.Integer(), nullable=True),
        sa.Column('sender', sa.String(length=320), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('at', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['mail_id'], ['mails.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id'),
    )
    op.create_index('ix_commands_mail_id', 'commands', ['mail_id'])


def downgrade() -> None:
    op.drop_index('ix_commands_mail_id', table_name='commands')
    op.drop_table('commands')
