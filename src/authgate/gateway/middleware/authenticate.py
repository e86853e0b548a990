"""Authentication middleware: the credential → Principal step (RFC 6750 §2, RFC 9449 §7).

Runs the authenticator chain (service token → bootstrap → JWT with DPoP) for every request
whose rule is not ``public``; a request no rule matches is left for the authorize step to deny
without spending a signature check on it. The Principal lands in ``scope["authgate.principal"]``
(the contract with the reverse proxy and the admin API) and in the request context; the time
spent is kept for the auth latency histogram.
"""

from __future__ import annotations

import time
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.authn.base import Credential
from authgate.errors import AuthError
from authgate.gateway.context import PRINCIPAL_KEY, context_of
from authgate.principal import Principal

__all__ = ["AuthenticateMiddleware", "CredentialAuthenticator"]


class CredentialAuthenticator(Protocol):
    """``AuthenticatorChain``: a credential (or None) in, a Principal out, AuthError if not."""

    async def authenticate(self, credential: Credential | None) -> Principal: ...


class AuthenticateMiddleware:
    """Authenticates non-public requests; refuses with the chain's AuthError."""

    def __init__(self, app: ASGIApp, authenticator: CredentialAuthenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        rule = ctx.rule
        if rule is None or rule.public:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            credential = ctx.credential()
            principal = await self.authenticator.authenticate(credential)
        except AuthError as error:
            ctx.auth_seconds = time.perf_counter() - started
            await ctx.refuse(send, error)
            return
        ctx.auth_seconds = time.perf_counter() - started
        ctx.principal = principal
        # The JWT authenticator verified a proof for a bound token sent with the DPoP scheme.
        ctx.dpop = (
            credential is not None
            and credential.scheme == "dpop"
            and principal.cnf is not None
            and "jkt" in principal.cnf
        )
        scope[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)
