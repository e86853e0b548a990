"""Fault injection for the dev IdP: force the next N answers of a path, or skew its clock.

Tests of retry, circuit-breaker and clock-skew handling need an IdP that misbehaves on cue. A
fault matches a path glob (``/oauth2/*/v1/token``) and optionally a method, answers with the
given status/body/headers after an optional delay, and disarms itself after ``count`` uses.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Any

from authgate.clock import Clock

__all__ = ["Fault", "Faults", "SkewedClock"]


@dataclass
class Fault:
    """One armed fault; ``body`` None = an Okta-shaped body for the status; ``status`` None =
    only the delay, then the real answer (for client timeout tests)."""

    path: str
    status: int | None = 503
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    count: int = 1
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "remaining": self.count,
            "delay": self.delay,
            "method": self.method,
        }


class Faults:
    """The armed faults, consumed first-armed-first-served."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        path: str,
        *,
        status: int | None = 503,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        count: int = 1,
        method: str | None = None,
    ) -> Fault:
        """Make the next ``count`` requests matching ``path`` (glob) answer ``status``."""
        if count < 1:
            raise ValueError("count must be at least 1")
        if status is not None and not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        fault = Fault(path, status, body, dict(headers or {}), max(delay, 0.0), count, method)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault for this request, with one use consumed; None when none matches."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]


class SkewedClock:
    """A clock ``skew`` seconds off its base: the IdP's idea of "now" for iat/exp and checks."""

    def __init__(self, base: Clock) -> None:
        self.base = base
        self.skew = 0.0

    def time(self) -> float:
        return self.base.time() + self.skew

    def monotonic(self) -> float:
        return self.base.monotonic()
