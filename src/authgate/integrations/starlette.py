"""Authentication as pure ASGI middleware for Starlette (and any ASGI app).

Pure ASGI (not ``BaseHTTPMiddleware``) so streaming bodies and WebSockets pass untouched. The
Principal lands in ``scope["authgate.principal"]`` (None in ``optional`` mode without a token).
Modes: ``required`` (deny by default), ``optional`` (no token is fine, a bad token is not),
``disabled``. A refused WebSocket handshake is accepted and immediately closed with 1008
(policy violation) and the error code as the reason, so clients see why — Starlette's own
middleware closes with 1000, which reads as success.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal, Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.authn.base import Credential
from authgate.authn.credentials import credential_from_headers
from authgate.errors import AuthError
from authgate.integrations.responses import error_body, error_headers
from authgate.principal import Principal

__all__ = [
    "PRINCIPAL_KEY",
    "AuthgateMiddleware",
    "CredentialAuthenticator",
    "get_principal",
    "request_url",
]

PRINCIPAL_KEY = "authgate.principal"
AuthMode = Literal["disabled", "optional", "required"]


class CredentialAuthenticator(Protocol):
    """Anything that turns a credential (or its absence) into a Principal: ``AuthenticatorChain``."""

    async def authenticate(self, credential: Credential | None) -> Principal: ...


def get_principal(scope: Scope) -> Principal | None:
    """The Principal the middleware stored for this request, if any."""
    principal = scope.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None


class AuthgateMiddleware:
    """Authenticate every HTTP request and WebSocket handshake before the app sees it."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: CredentialAuthenticator,
        *,
        mode: AuthMode = "required",
        websocket_query_token: bool = False,
        exempt_paths: Iterable[str] = (),
        realm: str | None = None,
        public_origin: str | None = None,
        on_error: Callable[[Scope, AuthError], None] | None = None,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.mode = mode
        self.websocket_query_token = websocket_query_token
        self.exempt_paths = frozenset(exempt_paths)
        self.realm = realm
        self.public_origin = public_origin.rstrip("/") if public_origin else None
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or self.mode == "disabled":
            await self.app(scope, receive, send)
            return
        if scope.get("path") in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        try:
            principal = await self._authenticate(scope)
        except AuthError as error:
            if self.on_error is not None:
                self.on_error(scope, error)
            if kind == "websocket":
                await _refuse_websocket(receive, send, error)
            else:
                await self._refuse_http(send, error)
            return
        scope[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> Principal | None:
        credential = credential_from_headers(
            scope["headers"],
            query_string=scope.get("query_string", b""),
            allow_query_token=self.websocket_query_token and scope["type"] == "websocket",
            method=scope.get("method", "GET"),
            url=request_url(scope, self.public_origin),
            client_ip=scope["client"][0] if scope.get("client") else None,
        )
        if credential is None and self.mode == "optional":
            return None
        return await self.authenticator.authenticate(credential)

    async def _refuse_http(self, send: Send, error: AuthError) -> None:
        body = error_body(error)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *error_headers(error, realm=self.realm),
        ]
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _refuse_websocket(receive: Receive, send: Send, error: AuthError) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    # RFC 6455 §7.4.1: 1008 = policy violation; the reason (≤ 123 bytes) carries the code.
    await send({"type": "websocket.close", "code": 1008, "reason": str(error.code)})


def request_url(scope: Scope, public_origin: str | None = None) -> str:
    """The request URL without query (the DPoP ``htu`` form, RFC 9449 §4.3).

    Set ``public_origin`` (e.g. ``https://api.example.com``) in production: otherwise the origin
    comes from the client's ``Host`` header and the socket's scheme, so a proof made for another
    host behind the same token would match, and behind a TLS-terminating proxy ``https`` proofs
    would not.
    """
    path = f"{scope.get('root_path', '')}{scope['path']}"
    if public_origin:
        return public_origin + path
    scheme = scope.get("scheme", "http")
    server = scope.get("server")
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
    if host is None and server:
        host = f"{server[0]}:{server[1]}"
    return f"{scheme}://{host or 'localhost'}{path}"
