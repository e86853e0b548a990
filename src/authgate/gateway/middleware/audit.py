"""Audit middleware (DESIGN.md step 7): one audit event per authentication decision.

Emits after the inner app has decided: ``authn`` success or failure (with the code), or
``authz`` for an authenticated caller refused by the route rule. Emitting only queues the event
(``AuditLog.emit`` never blocks or raises), so the audit trail costs the request almost
nothing. Events carry the token fingerprint, never the token. Public routes are not audited.
"""

from __future__ import annotations

import dataclasses

from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.authn.base import Credential
from authgate.errors import AuthError
from authgate.gateway.context import RequestContext, context_of
from authgate.observability.audit import AuditLog, auth_event

__all__ = ["AuditMiddleware"]


class AuditMiddleware:
    """Queues an audit event per authenticated (or refused) request."""

    def __init__(self, app: ASGIApp, audit: AuditLog, *, successes: bool = True) -> None:
        self.app = app
        self.audit = audit
        self.successes = successes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            if ctx.decision != "public" and (ctx.error is not None or self.successes):
                self.emit(ctx)

    def emit(self, ctx: RequestContext) -> None:
        try:
            credential = ctx.credential()
        except AuthError:
            credential = None
        if credential is None:
            credential = Credential("", method=ctx.method, url=ctx.url, client_ip=ctx.client_ip)
        event = auth_event(
            credential,
            ts=self.audit.clock.time(),
            principal=ctx.principal if ctx.error is None else None,
            error=ctx.error,
            route=f"{ctx.method} {ctx.host}{ctx.path} [{ctx.route}]",
            request_id=ctx.request_id or None,
        )
        if ctx.error is not None and ctx.principal is not None:
            event = dataclasses.replace(
                event,
                action="authz",
                subject=ctx.principal.subject,
                token_id=ctx.principal.token_id,
            )
        self.audit.emit(event)
