"""Request id middleware: one id per request, echoed as ``X-Request-Id`` and kept for logs.

An incoming ``X-Request-Id`` is reused when it is short and plain (so a proxy's id correlates
across hops); anything else is replaced, because the id lands in log lines and an attacker must
not be able to forge structure there. Scope types other than HTTP/WebSocket pass through.
"""

from __future__ import annotations

import os
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authgate.gateway.context import context_of

__all__ = ["RequestIdMiddleware"]

_VALID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


class RequestIdMiddleware:
    """Sets ``ctx.request_id`` and adds the response header."""

    def __init__(self, app: ASGIApp, *, header: str = "x-request-id", trust_incoming: bool = True):
        self.app = app
        self.header = header.lower().encode("latin-1")
        self.trust_incoming = trust_incoming

    def _incoming(self, scope: Scope) -> str | None:
        if not self.trust_incoming:
            return None
        for name, value in scope["headers"]:
            if name == self.header:
                return value.decode("ascii") if _VALID.fullmatch(value) else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        request_id = self._incoming(scope) or os.urandom(8).hex()
        ctx.request_id = request_id
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pair = (self.header, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), pair]
            await send(message)

        await self.app(scope, receive, send_with_id)
