"""Identity headers middleware (DESIGN.md step 6): strip client-sent ones, add ours.

Always strips every client-sent ``X-Authgate-*`` and configured identity header from the
request (public routes too: an upstream must never see a forged identity), and — unless the
original token is to be forwarded — ``Authorization`` and ``DPoP``. For an authenticated caller
it prepares our identity headers in ``scope["authgate.upstream_headers"]``: the reverse proxy
adds them to the upstream request, the forward-auth endpoint returns them to nginx/Caddy. With
token exchange configured, the exchanged token goes upstream as ``Authorization: Bearer`` (proxy)
or ``X-Authgate-Upstream-Authorization`` (forward auth, for the proxy to set).
"""

from __future__ import annotations

from typing import Literal

from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.errors import AuthError
from authgate.gateway.context import UPSTREAM_HEADERS_KEY, context_of
from authgate.gateway.exchange import UpstreamTokenExchange
from authgate.gateway.identity import IdentityHeaders

__all__ = ["IdentityHeadersMiddleware"]

_CREDENTIAL_HEADERS = frozenset({b"authorization", b"dpop"})


class IdentityHeadersMiddleware:
    """Rewrites ``scope["headers"]`` and fills the upstream identity headers."""

    def __init__(
        self,
        app: ASGIApp,
        identity: IdentityHeaders,
        *,
        mode: Literal["proxy", "forward"] = "proxy",
        forward_token: bool = False,
        exchange: UpstreamTokenExchange | None = None,
    ) -> None:
        self.app = app
        self.identity = identity
        self.mode = mode
        self.forward_token = forward_token and exchange is None
        self.exchange = exchange

    def _strip(self, scope: Scope) -> None:
        reserved = self.identity.is_reserved
        drop_credentials = not self.forward_token and self.mode == "proxy"
        scope["headers"] = [
            (k, v)
            for k, v in scope["headers"]
            if not reserved(k) and not (drop_credentials and k in _CREDENTIAL_HEADERS)
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        principal = ctx.principal
        upstream: list[tuple[bytes, bytes]] = []
        if principal is not None:
            upstream = self.identity.build(principal)
            if self.exchange is not None:
                try:
                    credential = ctx.credential()
                    if credential is not None:
                        token = await self.exchange.exchange(credential.token)
                        name = (
                            b"authorization"
                            if self.mode == "proxy"
                            else self.identity.names["upstream_authorization"]
                        )
                        upstream.append((name, b"Bearer " + token.encode("latin-1")))
                except AuthError as error:
                    await ctx.refuse(send, error)
                    return
        if self.mode == "proxy":
            self._strip(scope)  # forward auth: nginx/Caddy own the upstream request's headers
        ctx.upstream_headers = upstream
        scope[UPSTREAM_HEADERS_KEY] = upstream
        await self.app(scope, receive, send)
