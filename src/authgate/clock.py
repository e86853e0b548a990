"""The clock, injected everywhere time matters, so tests move time instead of sleeping."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "system_clock"]


class Clock(Protocol):
    """Wall-clock seconds (for JWT ``exp``/``nbf``/``iat``) and a monotonic reading (for TTLs)."""

    def time(self) -> float: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    __slots__ = ()

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


system_clock = SystemClock()


class ManualClock:
    """A clock that only moves when told to; wall time and monotonic time advance together."""

    __slots__ = ("_mono", "_wall")

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._wall = start
        self._mono = 1000.0

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._wall += seconds
        self._mono += seconds

    def set(self, wall: float) -> None:
        """Jump wall time (e.g. to simulate skew) without moving the monotonic clock backwards."""
        self._wall = wall
