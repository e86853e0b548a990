"""Store fixtures: the same suite runs on SQLite (tmp file) and on a real PostgreSQL server.

Each xdist worker × test module gets its own PostgreSQL database (created here, dropped after),
so parallel workers never see each other's rows; tables are emptied before every test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from authgate.clock import ManualClock
from authgate.service_tokens.store import TokenStore

TABLES = "authgate_service_token_secrets, authgate_service_tokens, authgate_audit_events"


def _admin(pg_url: str) -> psycopg.Connection:
    return psycopg.connect(pg_url, autocommit=True)


@pytest.fixture(scope="module")
def pg_database(pg_url: str) -> Iterator[str]:
    """URL of a fresh database for this module (and this worker), dropped afterwards."""
    name = f"ag_test_{uuid.uuid4().hex[:12]}"
    with _admin(pg_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_url.rsplit("/", 1)[0] + "/" + name
    with _admin(pg_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tokens.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
async def store(store_url: str, clock: ManualClock) -> AsyncIterator[TokenStore]:
    token_store = TokenStore(store_url, clock=clock)
    await token_store.migrate()
    if token_store.engine.dialect.name == "postgresql":
        async with token_store.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {TABLES} CASCADE"))
    yield token_store
    await token_store.aclose()
