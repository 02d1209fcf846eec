"""The supervisors' daily clearing (日清): `reviews` (a supervisor's reply to a daily
report, or to their digest of its day) and `hr_assist_ends` (a region HR stopped being
copied on).

New tables only: every existing record stays as it was.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mail_id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('report_message_id', sa.String(length=300), nullable=True),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('report_date', sa.Date(), nullable=False),
        sa.Column('reviewer', sa.String(length=320), nullable=False),
        sa.Column('reviewed_at', sa.String(length=32), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('bulk', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['mail_id'], ['mails.id']),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('mail_id', 'report_id'),
    )
    op.create_index('ix_reviews_mail_id', 'reviews', ['mail_id'])
    op.create_index('ix_reviews_report_id', 'reviews', ['report_id'])
    op.create_index('ix_reviews_person_day', 'reviews', ['email', 'report_date'])
    op.create_table(
        'hr_assist_ends',
        sa.Column('region', sa.String(length=200), nullable=False),
        sa.Column('last_week', sa.Date(), nullable=False),
        sa.Column('from_day', sa.Date(), nullable=False),
        sa.Column('decided_at', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('region'),
    )


def downgrade() -> None:
    op.drop_table('hr_assist_ends')
    op.drop_index('ix_reviews_person_day', table_name='reviews')
    op.drop_index('ix_reviews_report_id', table_name='reviews')
    op.drop_index('ix_reviews_mail_id', table_name='reviews')
    op.drop_table('reviews')
