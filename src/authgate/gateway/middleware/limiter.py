"""Failure limiter middleware (DESIGN.md step 2): blocked callers get 429 + ``Retry-After``.

Checks the client IP (resolved through trusted proxies only) and the identity a credential
claims before authenticating; after the inner app, counts the request as a failure when the
*authentication* step refused a credential (no credential at all is not a guess). Authorization refusals (403) are not counted: a valid caller
missing a scope is not brute-forcing anything. Public and unmatched routes are not limited.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.errors import AuthError, ErrorCode
from authgate.gateway.context import context_of
from authgate.gateway.metrics import GatewayMetrics
from authgate.limits.base import FailureLimiter
from authgate.service_tokens.format import identity_hint

__all__ = ["LimiterMiddleware"]


class LimiterMiddleware:
    """Refuses blocked callers; records authentication failures."""

    def __init__(
        self, app: ASGIApp, limiter: FailureLimiter, *, metrics: GatewayMetrics | None = None
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        if ctx.rule is None or ctx.rule.public:
            await self.app(scope, receive, send)
            return
        try:
            credential = ctx.credential()
        except AuthError:
            credential = None  # authenticate answers the malformed header; count it there
        identity = identity_hint(credential.token) if credential is not None else None
        try:
            await self.limiter.check(ip=ctx.client_ip, identity=identity)
        except AuthError as error:
            if self.metrics is not None:
                kind = "ip" if error.code == ErrorCode.RATE_LIMITED_IP else "identity"
                self.metrics.limiter_block(kind)
            await ctx.refuse(send, error)
            return
        await self.app(scope, receive, send)
        refusal = ctx.error
        if (
            refusal is not None
            and ctx.decision == "unauthenticated"
            and ctx.principal is None
            and refusal.code != ErrorCode.MISSING_TOKEN  # no credential: nothing was guessed
        ):
            subject = refusal.extra.get("subject")
            await self.limiter.record_failure(
                ip=ctx.client_ip,
                identity=identity or (subject if isinstance(subject, str) else None),
            )
