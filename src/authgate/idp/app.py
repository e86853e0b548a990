"""Starlette app factory for the dev IdP (okta-wire §1.1 URL layout) and a ``serve`` helper.

A pure-ASGI middleware wraps every request: it adds ``X-Okta-Request-Id``, applies armed faults,
records the request log, and turns any unexpected exception into an Okta-shaped 500 (logged
with its traceback) so a bug shows up as a clear error rather than a dropped connection.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authgate.idp import ids
from authgate.idp.dpop import DPoPNonceRequired, DPoPProofError
from authgate.idp.endpoints import admin, authn, management
from authgate.idp.endpoints.authorize import authorize
from authgate.idp.endpoints.discovery import oauth_metadata, openid_configuration
from authgate.idp.endpoints.introspect import introspect
from authgate.idp.endpoints.keys import keys
from authgate.idp.endpoints.revoke import revoke
from authgate.idp.endpoints.token import token
from authgate.idp.endpoints.userinfo import logout, userinfo
from authgate.idp.errors import OAuthProblem, OktaProblem, oauth_error, okta_error
from authgate.idp.faults import Fault
from authgate.idp.ratelimit import RateLimiter, RateLimitMiddleware, RateLimitSettings
from authgate.idp.request_log import RequestRecord
from authgate.idp.state import IdP

__all__ = ["bind", "create_app", "make_server", "oauth_routes", "serve"]

log = logging.getLogger("authgate.idp")
SERVER_ERROR = (
    "The authorization server encountered an unexpected condition that prevented it from "
    "fulfilling the request."
)


def oauth_routes(prefix: str) -> list[BaseRoute]:
    """The ``/v1/…`` endpoints and discovery documents under ``prefix``."""
    return [
        Route(f"{prefix}/v1/token", token, methods=["POST"]),
        Route(f"{prefix}/v1/keys", keys, methods=["GET"]),
        Route(f"{prefix}/v1/introspect", introspect, methods=["POST"]),
        Route(f"{prefix}/v1/revoke", revoke, methods=["POST"]),
        Route(f"{prefix}/v1/authorize", authorize, methods=["GET", "POST"]),
        Route(f"{prefix}/v1/userinfo", userinfo, methods=["GET", "POST"]),
        Route(f"{prefix}/v1/logout", logout, methods=["GET"]),
    ]


def _routes(idp: IdP) -> list[BaseRoute]:
    custom = "/oauth2/{server_id}"
    # Starlette tries routes in order, ~3 µs each: the OAuth endpoints (tokens are the hot path)
    # come first. The families' paths are disjoint, so the order changes nothing else.
    return [
        *oauth_routes(custom),
        *oauth_routes("/oauth2"),
        Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", oauth_metadata, methods=["GET"]),
        Route(
            "/.well-known/oauth-authorization-server/oauth2/{server_id}",
            oauth_metadata,
            methods=["GET"],
        ),
        Route(f"{custom}/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route(f"{custom}/.well-known/oauth-authorization-server", oauth_metadata, methods=["GET"]),
        *authn.routes(idp),  # holds /__admin/authn/push, so it stays before the /__admin mount
        *management.routes(idp),
        Mount("/__admin", routes=admin.routes),
    ]


async def _problem(request: Request, exc: Exception) -> Response:
    if isinstance(exc, OAuthProblem | OktaProblem | DPoPProofError | DPoPNonceRequired):
        return exc.response()
    raise exc


async def _http(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        return okta_error(405, "E0000022", "The endpoint does not support the provided HTTP method")
    if status == 404:
        return okta_error(404, "E0000008", "The requested path was not found")
    return okta_error(status, "E0000009", "Internal Server Error")


def _fault_response(fault: Fault, path: str) -> Response:
    status = fault.status or 503
    if fault.body is not None:
        content = fault.body if isinstance(fault.body, str) else orjson.dumps(fault.body)
        media = "text/plain" if isinstance(fault.body, str) else "application/json"
        return Response(content, status, headers=fault.headers, media_type=media)
    if status == 429:
        return okta_error(
            429,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
            headers=fault.headers,
        )
    if path.startswith("/oauth2") and status >= 500:
        return oauth_error(status, "server_error", SERVER_ERROR, fault.headers)
    return okta_error(status, "E0000009", "Internal Server Error", headers=fault.headers)


class IdPMiddleware:
    """Request id, faults, request log and the last-resort 500 (pure ASGI, http only)."""

    def __init__(self, app: ASGIApp, idp: IdP) -> None:
        self.app = app
        self.idp = idp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = ids.request_id()
        # One id per request: the rate-limit middleware inside reuses it rather than minting its own.
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        sent = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent, request_id
            if message["type"] == "http.response.start":
                status = message["status"]
                sent = True
                headers = list(message.get("headers", []))
                given = [v for k, v in headers if k.lower() == b"x-okta-request-id"]
                if given:
                    request_id = given[0].decode("latin-1")
                else:
                    headers.append((b"x-okta-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        path: str = scope["path"]
        try:
            fault = (
                None if path.startswith("/__admin") else self.idp.faults.take(scope["method"], path)
            )
            if fault is not None and fault.delay:
                await asyncio.sleep(fault.delay)
            if fault is not None and fault.status is not None:
                await _fault_response(fault, path)(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        except Exception:
            log.exception("unexpected error serving %s %s (%s)", scope["method"], path, request_id)
            if not sent:
                answer = (
                    oauth_error(500, "server_error", SERVER_ERROR)
                    if path.startswith("/oauth2")
                    else okta_error(500, "E0000009", "Internal Server Error")
                )
                await answer(scope, receive, send_wrapper)
        finally:
            state: dict[str, Any] = scope.get("state", {})
            self.idp.request_log.add(
                RequestRecord(
                    time=self.idp.clock.time(),
                    method=scope["method"],
                    path=path,
                    status=status,
                    duration_ms=(time.perf_counter() - started) * 1000,
                    request_id=request_id,
                    grant_type=state.get("grant_type"),
                    client_id=state.get("client_id"),
                )
            )


def create_app(idp: IdP) -> Starlette:
    """The ASGI app serving ``idp``; ``idp.base_url`` must be the URL clients use."""
    app = Starlette(
        routes=_routes(idp),
        exception_handlers={
            OAuthProblem: _problem,
            OktaProblem: _problem,
            DPoPProofError: _problem,
            DPoPNonceRequired: _problem,
            HTTPException: _http,
        },
    )
    app.state.idp = idp
    # Rate limits sit inside the request log so that 429 answers are logged too.
    limiter = RateLimiter(RateLimitSettings.from_config(idp.config.rate_limits), idp.clock)
    app.state.rate_limiter = limiter
    idp.reset_hooks.append(limiter.reset_all)
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(IdPMiddleware, idp=idp)
    return app


def bind(host: str = "127.0.0.1", port: int = 9000) -> socket.socket:
    """A listening socket (port 0 = any free port; read it back with ``getsockname``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def make_server(idp: IdP, sock: socket.socket, *, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for ``idp`` on an already listening ``sock``; sets ``idp.base_url``."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    idp.base_url = f"http://{shown}:{port}"
    # Date comes from the rate-limit middleware (IdP clock), so uvicorn must not add a second one.
    config = uvicorn.Config(
        create_app(idp), log_level=log_level, lifespan="off", date_header=False, server_header=False
    )
    return uvicorn.Server(config)


def serve(idp: IdP, *, host: str = "127.0.0.1", port: int = 9000) -> None:
    """Serve ``idp`` until interrupted (blocking)."""
    sock = bind(host, port)
    make_server(idp, sock, log_level="info").run(sockets=[sock])
