"""Alembic migrations for the token and audit tables, run programmatically (no alembic.ini).

Why programmatic: operators run ``authgate tokens migrate`` or ``await store.migrate()``
against the configured URL, with no second config file to keep in sync. On PostgreSQL a
transaction-scoped advisory lock serialises instances that start and migrate together.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["current_revision", "upgrade"]

_HERE = Path(__file__).resolve().parent
_LOCK_KEY = 0x6167_746B  # "agtk": any constant shared by every authgate instance


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(_config(connection), "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Upgrade the database behind ``engine`` to the newest revision."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        await conn.run_sync(_upgrade)


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)
