"""Readable request log of the dev IdP: who called what and what they got — never secrets.

Tests and ``GET /__admin/requests`` read it to assert that a client did (or did not) call the
token endpoint, with which grant, and how often. Entries hold the method, path, grant type,
client id, status and timing only; tokens, secrets and passwords are never recorded.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RequestLog", "RequestRecord"]


@dataclass(frozen=True)
class RequestRecord:
    """One handled request."""

    time: float
    method: str
    path: str
    status: int
    duration_ms: float
    request_id: str
    grant_type: str | None = None
    client_id: str | None = None

    def line(self) -> str:
        grant = f" grant={self.grant_type}" if self.grant_type else ""
        client = f" client_id={self.client_id}" if self.client_id else ""
        return (
            f"{self.method} {self.path} -> {self.status}{grant}{client} "
            f"({self.duration_ms:.1f} ms, {self.request_id})"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """A bounded, thread-safe list of :class:`RequestRecord` (newest last)."""

    def __init__(self, capacity: int = 2000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(
        self, *, path: str | None = None, grant_type: str | None = None
    ) -> list[RequestRecord]:
        """Records, optionally only those whose path ends with ``path`` / with ``grant_type``."""
        with self._lock:
            found = list(self._records)
        if path is not None:
            found = [r for r in found if r.path.endswith(path)]
        if grant_type is not None:
            found = [r for r in found if r.grant_type == grant_type]
        return found

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
