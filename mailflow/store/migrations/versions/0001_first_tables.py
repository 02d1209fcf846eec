"""First tables: mails, where they were seen, folder sync state, reports, violations,
closed days. Times are UTC text with offset (see store/types.py).

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 04:41:51.449513
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('day_closes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('closed_at', sa.String(length=32), nullable=False),
    sa.Column('missing', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('day')
    )
    op.create_table('folder_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sa.String(length=100), nullable=False),
    sa.Column('folder', sa.String(length=300), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('synced_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mailbox', 'folder')
    )
    op.create_table('mails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=300), nullable=False),
    sa.Column('message_id', sa.String(length=300), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.String(length=32), nullable=False),
    sa.Column('mailbox', sa.String(length=100), nullable=False),
    sa.Column('folder', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.Column('from_addr', sa.String(length=320), nullable=True),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('to_addrs', sa.JSON(), nullable=True),
    sa.Column('cc_addrs', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('warnings', sa.JSON(), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('recorded_at', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mails_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mails_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mails_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_mails_state'), ['state'], unique=False)

    op.create_table('mail_locations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mail_id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sa.String(length=100), nullable=False),
    sa.Column('folder', sa.String(length=300), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['mail_id'], ['mails.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mailbox', 'folder', 'uidvalidity', 'uid')
    )
    with op.batch_alter_table('mail_locations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_locations_mail_id'), ['mail_id'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mail_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('region', sa.String(length=200), nullable=True),
    sa.Column('supervisor', sa.String(length=320), nullable=True),
    sa.Column('report_date', sa.Date(), nullable=False),
    sa.Column('received_at', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=300), nullable=True),
    sa.Column('earned_status', sa.String(length=16), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('missing_sections', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['mail_id'], ['mails.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mail_id')
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_day', ['report_date', 'kind'], unique=False)
        batch_op.create_index('ix_reports_person_day', ['email', 'report_date', 'kind'], unique=False)

    op.create_table('violations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('mail_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['mail_id'], ['mails.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.create_index('ix_violations_day_code', ['date', 'code'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_mail_id'), ['mail_id'], unique=False)
        batch_op.create_index('ix_violations_person_day', ['email', 'date'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_index('ix_violations_person_day')
        batch_op.drop_index(batch_op.f('ix_violations_mail_id'))
        batch_op.drop_index('ix_violations_day_code')

    op.drop_table('violations')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_person_day')
        batch_op.drop_index('ix_reports_day')

    op.drop_table('reports')
    with op.batch_alter_table('mail_locations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_locations_mail_id'))

    op.drop_table('mail_locations')
    with op.batch_alter_table('mails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mails_state'))
        batch_op.drop_index(batch_op.f('ix_mails_sha256'))
        batch_op.drop_index(batch_op.f('ix_mails_received_at'))
        batch_op.drop_index(batch_op.f('ix_mails_message_id'))

    op.drop_table('mails')
    op.drop_table('folder_states')
    op.drop_table('day_closes')

