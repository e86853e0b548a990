"""Recent denials for the admin dashboard: a bounded ring fed after each request (DESIGN.md ops).

Why a middleware of its own: the request context already holds the refusal (``ctx.error``) once
the pipeline returns, so recording it is one ``deque.append`` per *refused* request and nothing
on allowed ones — cheaper than a sink behind the audit queue, and it works without an audit log.
Entries carry the code, status, route and token fingerprint, never the token.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.clock import Clock, system_clock
from authgate.fingerprint import fingerprint
from authgate.gateway.context import context_of

__all__ = ["ConsoleState", "RecentDenials", "RecentDenialsMiddleware"]


class RecentDenials:
    """The last ``size`` refusals, newest first on read (thread-safe: workers may share it)."""

    def __init__(self, size: int = 50, *, clock: Clock = system_clock) -> None:
        self._ring: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self.clock = clock
        self.total = 0

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._ring.append(entry)
            self.total += 1

    def recent(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(reversed(self._ring))


@dataclass
class ConsoleState:
    """What the dashboard shows beyond the components: denials, attached AAA services."""

    denials: RecentDenials = field(default_factory=RecentDenials)
    aaa: list[Any] = field(default_factory=list)
    """Objects with ``circuit_open()`` and ``metrics.registry`` (``authgate.aaa.AAAService``)."""


class RecentDenialsMiddleware:
    """Appends every refused request (401/403/429/5xx answered by the gateway) to the ring."""

    def __init__(self, app: ASGIApp, denials: RecentDenials) -> None:
        self.app = app
        self.denials = denials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            error = ctx.error
            if error is not None:
                try:
                    credential = ctx.credential()
                except Exception:  # noqa: BLE001 - a malformed credential is still a denial
                    credential = None
                self.denials.add(
                    {
                        "ts": self.denials.clock.time(),
                        "code": str(error.code),
                        "status": error.status,
                        "message": error.detail,
                        "route": ctx.route,
                        "method": ctx.method,
                        "path": ctx.path,
                        "client_ip": ctx.client_ip,
                        "token": fingerprint(credential.token) if credential else None,
                        "request_id": ctx.request_id,
                    }
                )
