"""Metrics middleware: counts each request by route and decision, observes auth latency.

Reads what the pipeline left in the request context after the inner app returns, so it adds
one dict look-up and one counter increment per request (label children are cached).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.gateway.context import context_of
from authgate.gateway.metrics import GatewayMetrics

__all__ = ["MetricsMiddleware"]


class MetricsMiddleware:
    """Records ``authgate_gateway_requests_total`` and ``authgate_gateway_auth_seconds``."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        try:
            await self.app(scope, receive, send)
        except BaseException:
            ctx.decision = "error"
            raise
        finally:
            self.metrics.request(ctx.route, ctx.decision)
            if ctx.auth_seconds is not None:
                self.metrics.auth_latency.observe(ctx.auth_seconds)
