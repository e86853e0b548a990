"""FastAPI dependencies: ``principal``, ``require_scopes``, ``require_role``, ``require_workspace``.

Two ways to use it. With :class:`~authgate.integrations.starlette.AuthgateMiddleware` installed,
the dependencies read the Principal it stored. Without middleware, :class:`Authgate` authenticates
inside the dependency itself, so a route can opt in alone. Either way, call :func:`install` once
so an :class:`AuthError` becomes a JSON answer with its status and RFC 6750 challenge (never a
500, never a 400 without ``WWW-Authenticate``).

    auth = Authgate(chain)
    install(app)

    @app.post("/api/v1/policies")
    async def create(p: Principal = Depends(auth.require_role("Admin"))): ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from authgate.authn.credentials import credential_from_headers
from authgate.errors import AuthError, ErrorCode
from authgate.integrations.responses import error_body, error_headers
from authgate.integrations.starlette import (
    PRINCIPAL_KEY,
    CredentialAuthenticator,
    get_principal,
    request_url,
)
from authgate.principal import Principal

__all__ = ["Authgate", "auth_error_handler", "install"]

Dependency = Callable[[HTTPConnection], Awaitable[Principal]]


async def auth_error_handler(request: Request, exc: Exception) -> Response:
    """Exception handler turning AuthError into its HTTP answer."""
    if not isinstance(exc, AuthError):  # registered for AuthError only
        raise exc
    headers = {k.decode(): v.decode("latin-1") for k, v in error_headers(exc)}
    return Response(error_body(exc), exc.status, headers, media_type="application/json")


def install(app: object) -> None:
    """Register :func:`auth_error_handler` on a FastAPI/Starlette app."""
    add = getattr(app, "add_exception_handler", None)
    if add is None:
        raise TypeError("install() needs a Starlette or FastAPI application")
    add(AuthError, auth_error_handler)


class Authgate:
    """Factory of FastAPI dependencies over an authenticator (None = rely on the middleware)."""

    def __init__(
        self,
        authenticator: CredentialAuthenticator | None = None,
        *,
        websocket_query_token: bool = False,
        public_origin: str | None = None,
    ) -> None:
        self.authenticator = authenticator
        self.websocket_query_token = websocket_query_token
        self.public_origin = public_origin.rstrip("/") if public_origin else None

    async def principal(self, conn: HTTPConnection) -> Principal:
        """Dependency: the authenticated Principal, or 401 ``auth.missing_token``."""
        found = get_principal(conn.scope)
        if found is not None:
            return found
        if self.authenticator is None:
            raise AuthError(ErrorCode.MISSING_TOKEN, "no bearer token was presented")
        credential = credential_from_headers(
            conn.scope["headers"],
            query_string=conn.scope.get("query_string", b""),
            allow_query_token=self.websocket_query_token and conn.scope["type"] == "websocket",
            method=conn.scope.get("method", "GET"),
            url=request_url(conn.scope, self.public_origin),
            client_ip=conn.client.host if conn.client else None,
        )
        principal = await self.authenticator.authenticate(credential)
        conn.scope[PRINCIPAL_KEY] = principal
        return principal

    def require_scopes(self, *scopes: str, any_of: bool = False) -> Dependency:
        """Dependency: 403 ``auth.insufficient_scope`` unless the token has the scopes."""

        async def dependency(conn: HTTPConnection) -> Principal:
            principal = await self.principal(conn)
            principal.require_scopes(*scopes, any_of=any_of)
            return principal

        return dependency

    def require_role(self, role: str) -> Dependency:
        """Dependency: 403 ``auth.role_missing`` ("Admin role missing") unless the role is held."""

        async def dependency(conn: HTTPConnection) -> Principal:
            principal = await self.principal(conn)
            principal.require_role(role)
            return principal

        return dependency

    def require_workspace(self, path_param: str = "workspace_id") -> Dependency:
        """Dependency: 403 ``auth.workspace_denied`` unless the caller is in the path's workspace."""

        async def dependency(conn: HTTPConnection) -> Principal:
            principal = await self.principal(conn)
            workspace = conn.path_params.get(path_param)
            if workspace is None:
                raise AuthError(
                    ErrorCode.WORKSPACE_DENIED, f"route has no path parameter {path_param!r}"
                )
            principal.require_workspace(str(workspace))
            return principal

        return dependency
