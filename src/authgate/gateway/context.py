"""Per-request gateway state shared by the middleware stack (DESIGN.md request pipeline).

One small slotted object rides in ``scope["authgate.ctx"]`` from the first middleware to the
last: the original request (method, host, path — from forward-auth headers or the request
itself), the matched rule, the credential, the Principal, the refusal if any, and timings.
Outer middleware (metrics, audit, access log, limiter) read it after the inner app returns, so
each concern stays in its own file without re-parsing anything. The ASGI scope is annotated,
never copied (no per-request ``deepcopy``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Receive, Scope, Send

from authgate.authn.base import Credential
from authgate.authn.credentials import credential_from_headers
from authgate.errors import AuthError
from authgate.policy.rules import Rule
from authgate.principal import Principal

__all__ = [
    "CTX_KEY",
    "PRINCIPAL_KEY",
    "UPSTREAM_HEADERS_KEY",
    "Refuser",
    "RequestContext",
    "context_of",
]

CTX_KEY = "authgate.ctx"
PRINCIPAL_KEY = "authgate.principal"
UPSTREAM_HEADERS_KEY = "authgate.upstream_headers"

Refuser = Callable[[Send, AuthError, "RequestContext"], Awaitable[None]]
"""Sends the refusal for a request: the proxy and each forward-auth shape answer differently."""

_UNSET: Any = object()
_DECISION = {400: "unauthenticated", 401: "unauthenticated", 403: "forbidden", 429: "limited"}


class RequestContext:
    """What the pipeline knows about one request; fields are filled as stages run."""

    __slots__ = (
        "_credential",
        "auth_seconds",
        "client_ip",
        "decision",
        "dpop",
        "error",
        "host",
        "method",
        "params",
        "path",
        "principal",
        "query",
        "query_token",
        "receive",
        "refuser",
        "request_id",
        "route",
        "rule",
        "scheme",
        "scope",
        "status",
        "upstream_headers",
    )

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.request_id = ""
        self.method: str = scope.get("method", "GET")
        self.scheme: str = scope.get("scheme", "http")
        self.host = ""
        self.path: str = scope.get("path", "/")
        self.query = ""
        self.client_ip: str | None = None
        self.route = "-"
        self.rule: Rule | None = None
        self.params: dict[str, str] = {}
        self.principal: Principal | None = None
        self.error: AuthError | None = None
        self.decision = "allow"
        self.dpop = False
        self.auth_seconds: float | None = None
        self.status = 0
        self.upstream_headers: list[tuple[bytes, bytes]] = []
        self.refuser: Refuser | None = None
        self.receive: Receive | None = None
        self.query_token = False
        self._credential: Credential | None = _UNSET

    @property
    def url(self) -> str:
        """The original request URL without query: the DPoP ``htu`` form (RFC 9449 §4.3)."""
        return f"{self.scheme}://{self.host}{self.path}"

    def credential(self) -> Credential | None:
        """The request's credential, parsed once (raises AuthError for ambiguous headers)."""
        if self._credential is _UNSET:
            self._credential = None  # a parse error below must not be retried by a later stage
            self._credential = credential_from_headers(
                self.scope["headers"],
                query_string=self.scope.get("query_string", b""),
                allow_query_token=self.query_token,
                method=self.method,
                url=self.url,
                client_ip=self.client_ip,
            )
        return self._credential

    async def refuse(self, send: Send, error: AuthError) -> None:
        """Record the refusal (decision from its status) and answer it with the refuser."""
        self.error = error
        self.decision = _DECISION.get(error.status, "error" if error.status >= 500 else "deny")
        if self.refuser is None:
            raise RuntimeError("no refuser set for this request")
        await self.refuser(send, error, self)


def context_of(scope: Scope) -> RequestContext:
    """The request's context, created on first use."""
    ctx = scope.get(CTX_KEY)
    if ctx is None:
        ctx = scope[CTX_KEY] = RequestContext(scope)
    return ctx
