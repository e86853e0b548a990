"""Alembic environment: migrate over the connection handed in by ``migrations.upgrade``."""

from __future__ import annotations

from alembic import context

from authgate.service_tokens.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `authgate tokens migrate` or `await store.migrate()`")
# render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds tables when needed.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
