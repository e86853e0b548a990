"""Structured access log middleware: one JSON line per request on ``authgate.access``.

Each line carries the request id, the original method/host/path (the proxied request, not the
``/authz`` sub-request), status, duration, route rule, decision, error code, subject and a token
*fingerprint* (``sha256(token)[:12]``) — never the token. When the logger is not enabled for
INFO nothing is formatted, so turning the log off removes its cost from the hot path.
"""

from __future__ import annotations

import logging
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authgate.errors import AuthError
from authgate.fingerprint import fingerprint
from authgate.gateway.context import RequestContext, context_of

__all__ = ["AccessLogMiddleware"]


class AccessLogMiddleware:
    """Logs after the response (or WebSocket session) ends."""

    def __init__(self, app: ASGIApp, *, logger: logging.Logger | None = None) -> None:
        self.app = app
        self.logger = logger or logging.getLogger("authgate.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        started = time.perf_counter()

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                ctx.status = message["status"]
            elif message["type"] == "websocket.accept":
                ctx.status = 101
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.logger.info(self.line(ctx, time.perf_counter() - started))

    @staticmethod
    def line(ctx: RequestContext, seconds: float) -> str:
        token_fp = None
        try:
            credential = ctx.credential()
        except AuthError:
            credential = None
        if credential is not None:
            token_fp = fingerprint(credential.token)
        principal = ctx.principal
        record = {
            "request_id": ctx.request_id,
            "method": ctx.method,
            "host": ctx.host,
            "path": ctx.path,
            "status": ctx.status,
            "ms": round(seconds * 1000, 3),
            "client_ip": ctx.client_ip,
            "route": ctx.route,
            "decision": ctx.decision,
            "code": str(ctx.error.code) if ctx.error else None,
            "subject": principal.subject if principal else None,
            "token": token_fp,
        }
        return orjson.dumps(record).decode()
