"""Fixtures for dev-IdP tests: one served IdP per test (cheap: keys are made lazily)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from tests.support.idp_server import ServedIdP, running_idp


@pytest.fixture
def served() -> Iterator[ServedIdP]:
    with running_idp() as s:
        yield s


@pytest.fixture
def http(served: ServedIdP) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        yield client
