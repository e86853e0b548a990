"""Authorization middleware: the matched route rule against the Principal (DESIGN.md step 5).

Default deny: a request no rule matches is refused with ``auth.access_denied`` (403) before any
credential work. ``public`` rules pass; every other rule's requirements are checked by
:func:`authgate.policy.checks.check_rule`, whose refusal names the unmet requirement.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.errors import AuthError, ErrorCode
from authgate.gateway.context import context_of
from authgate.policy.checks import check_rule, no_rule

__all__ = ["AuthorizeMiddleware"]


class AuthorizeMiddleware:
    """Allows, or refuses with the first unmet requirement's code."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        rule = ctx.rule
        if rule is None:
            await ctx.refuse(send, no_rule(ctx.method, ctx.host, ctx.path))
            return
        if rule.public:
            ctx.decision = "public"
            await self.app(scope, receive, send)
            return
        principal = ctx.principal
        if principal is None:  # authenticate did not run: a wiring error, so fail closed
            await ctx.refuse(
                send, AuthError(ErrorCode.ACCESS_DENIED, "no authenticated caller for this route")
            )
            return
        try:
            check_rule(rule, principal, ctx.params, dpop=ctx.dpop)
        except AuthError as error:
            await ctx.refuse(send, error)
            return
        await self.app(scope, receive, send)
