"""Alembic environment: runs on the connection mailflow hands it (see store/db.py)."""

from alembic import context

from mailflow.store.models import Base

connection = context.config.attributes.get("connection")
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
