"""Fixtures: C1's dev IdP on 127.0.0.1:0 with a manual clock, for Management/Authn/limit tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from tests.support.idp_server import running_idp

from authgate.clock import ManualClock
from authgate.idp.config import IdPConfig
from authgate.idp.state import IdP

START = 1_750_000_000.0


@dataclass
class Served:
    """A running IdP: its state, its manual clock, its URL and an httpx client bound to it."""

    idp: IdP
    clock: ManualClock
    url: str
    http: httpx.Client


def serve(config: IdPConfig) -> Iterator[Served]:
    """Serve ``config`` with a manual clock (moved by tests, never slept on)."""
    clock = ManualClock(START)
    with (
        running_idp(config, clock=clock) as running,
        httpx.Client(base_url=running.url, timeout=10) as http,
    ):
        yield Served(running.idp, clock, running.url, http)


@pytest.fixture
def served() -> Iterator[Served]:
    """The built-in demo org."""
    yield from serve(IdPConfig.default())
