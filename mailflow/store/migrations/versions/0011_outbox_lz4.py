"""On PostgreSQL the outbox's mail is compressed with lz4, not pglz, when it is stored
out of line (TOAST): close-day queues a day's digests (2,000 of 18 KB at 50,000 people)
in one statement, and pglz compressing them was a tenth of the command. lz4 is several
times faster at a similar ratio on this text. Rows already queued keep theirs; a server
before PostgreSQL 14, or one built without lz4, keeps pglz. SQLite is not concerned.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 18:30:00
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def _compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.server_version_info < (14,):
        return
    # EXECUTE: parsed when run, so the exception handler also covers a server that does
    # not know the method.
    op.execute(f"""DO $$ BEGIN
        EXECUTE 'ALTER TABLE outbox ALTER COLUMN raw SET COMPRESSION {method}';
    EXCEPTION WHEN feature_not_supported THEN NULL;
    END $$""")


def upgrade() -> None:
    _compression("lz4")


def downgrade() -> None:
    _compression("pglz")
