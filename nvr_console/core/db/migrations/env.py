"""Alembic environment: runs on the connection handed in by nvr_console.core.db.migrate."""

from alembic import context

from nvr_console.core.db.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds tables, and is a no-op elsewhere.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
