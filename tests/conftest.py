"""Suite-wide fixtures: loopback service URLs (never skipped: a missing service fails loudly)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
VECTORS = SHARED / "vectors"


def service_url(env: str) -> str:
    """URL of a service started by ``scripts/services``; fail (never skip) when it is absent."""
    url = os.environ.get(env)
    if not url:
        pytest.fail(
            f"{env} is not set: run the suite with scripts/test, or start the services with "
            f"`AG_RUN=/tmp/ag scripts/services start pg redis && source /tmp/ag/env`",
            pytrace=False,
        )
    return url


@pytest.fixture(scope="session")
def pg_url() -> str:
    return service_url("AUTHGATE_TEST_PG_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return service_url("AUTHGATE_TEST_REDIS_URL")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
