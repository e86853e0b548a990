"""The gateway ASGI app: system routes, forward-auth shapes, the admin API and the proxy catch-all.

Assembly only — every concern lives in its own middleware or module. Dispatch is one dict
look-up on the exact path (no route table scan on the hot path):

- ``/healthz`` (live), ``/readyz`` (keys loaded, store reachable, policy loaded), ``/metrics``,
  ``/.well-known/jwks.json`` (the identity-assertion key);
- forward auth: ``/authz`` (any proxy), ``/authz/nginx`` (never 429: nginx would make it 500),
  ``/authz/caddy``, ``/authz/traefik``, and the Envoy ``ext_authz`` prefix ``/authz/envoy/…``;
- ``/__authgate/api/…``: the service-token admin API, for callers holding an admin scope;
- everything else: the policy pipeline, then the reverse proxy (``scope["authgate.principal"]``
  and ``scope["authgate.upstream_headers"]`` set), or 404 when no upstream is configured.

Outermost for every request: request id → access log → metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.routing import Mount, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.admin_api.tokens import token_routes
from authgate.client_ip import ClientIPResolver
from authgate.errors import AuthError, ErrorCode
from authgate.gateway.admin import (
    DASHBOARD_PREFIX,
    AdminConsole,
    ConsoleState,
    RecentDenialsMiddleware,
)
from authgate.gateway.context import context_of
from authgate.gateway.exchange import UpstreamTokenExchange
from authgate.gateway.forward_auth import (
    ENVOY_PREFIX,
    ForwardAuthEndpoint,
    ForwardAuthTarget,
    forward_refuser,
)
from authgate.gateway.identity import IdentityAssertion, IdentityHeaders
from authgate.gateway.metrics import CONTENT_TYPE, GatewayMetrics
from authgate.gateway.middleware import (
    AccessLogMiddleware,
    AuditMiddleware,
    AuthenticateMiddleware,
    AuthorizeMiddleware,
    IdentityHeadersMiddleware,
    LimiterMiddleware,
    MetricsMiddleware,
    RequestIdMiddleware,
)
from authgate.gateway.middleware.authenticate import CredentialAuthenticator
from authgate.gateway.settings import IDENTITY_FIELDS, GatewaySettings
from authgate.gateway.target import Peers, ProxyTarget, plain_refuser
from authgate.integrations.starlette import AuthgateMiddleware
from authgate.limits.base import FailureLimiter
from authgate.observability.audit import AuditLog
from authgate.policy.reload import PolicyHolder
from authgate.service_tokens.admin import TokenAdmin

__all__ = ["ADMIN_PREFIX", "FORWARD_AUTH_PATHS", "GatewayComponents", "ReadyCheck", "create_app"]

_log = logging.getLogger("authgate.gateway")
ADMIN_PREFIX = "/__authgate/api"
FORWARD_AUTH_PATHS = ("/authz", "/authz/nginx", "/authz/caddy", "/authz/traefik")
ReadyCheck = Callable[[], Awaitable[tuple[str, bool, str]]]
"""An async readiness probe: ``(name, ok, detail)``."""


@dataclass
class GatewayComponents:
    """Everything the app is assembled from (built by ``gateway.builder`` or by tests)."""

    settings: GatewaySettings
    authenticator: CredentialAuthenticator
    holder: PolicyHolder
    metrics: GatewayMetrics
    identity: IdentityHeaders
    limiter: FailureLimiter | None = None
    audit: AuditLog | None = None
    assertion: IdentityAssertion | None = None
    exchange: UpstreamTokenExchange | None = None
    admin: TokenAdmin | None = None
    upstream: ASGIApp | None = None
    ready_checks: Sequence[ReadyCheck] = ()
    audit_successes: bool = True
    startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    console: ConsoleState = field(default_factory=ConsoleState)


async def _send(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": "no upstream"})
        return
    body = orjson.dumps({"code": "gateway.not_found", "message": "no upstream is configured"})
    await _send(send, 404, body, b"application/json")


def _pipeline(
    c: GatewayComponents, endpoint: ASGIApp, *, mode: str, exchange: bool = True
) -> ASGIApp:
    """audit → limiter → authenticate → authorize → identity headers → ``endpoint``."""
    app: ASGIApp = IdentityHeadersMiddleware(
        endpoint,
        c.identity,
        mode="proxy" if mode == "proxy" else "forward",
        forward_token=c.settings.forward_token,
        exchange=c.exchange if exchange else None,
    )
    app = AuthorizeMiddleware(app)
    app = AuthenticateMiddleware(app, c.authenticator)
    if c.limiter is not None:
        app = LimiterMiddleware(app, c.limiter, metrics=c.metrics)
    if c.audit is not None:
        app = AuditMiddleware(app, c.audit, successes=c.audit_successes)
    return app


class _Dispatcher:
    """Exact-path dispatch plus the two prefixes; handles the lifespan protocol."""

    def __init__(self, c: GatewayComponents) -> None:
        self.c = c
        s = c.settings
        resolver = ClientIPResolver(s.trusted_proxies, header=s.client_ip_header)
        peers = Peers(resolver, s.trusted_proxies)
        fields = [f for f in IDENTITY_FIELDS if f != "upstream_authorization"]
        if c.assertion is None:
            fields.remove("assertion")
        names = tuple(c.identity.names[f] for f in fields)

        def forward(*, nginx: bool = False, envoy: bool = False) -> ASGIApp:
            inner = _pipeline(c, ForwardAuthEndpoint(names), mode="forward")
            refuser = forward_refuser(s.realm, nginx=nginx)
            return ForwardAuthTarget(inner, c.holder, peers, refuser=refuser, envoy=envoy)

        generic = forward()
        self.routes: dict[str, tuple[str, ASGIApp]] = {
            "/healthz": ("healthz", self.healthz),
            "/readyz": ("readyz", self.readyz),
            "/metrics": ("metrics", self.metrics),
            "/.well-known/jwks.json": ("jwks", self.jwks),
            "/authz": ("authz", generic),
            "/authz/caddy": ("authz", generic),
            "/authz/traefik": ("authz", generic),
            "/authz/nginx": ("authz", forward(nginx=True)),
        }
        self.envoy = forward(envoy=True)
        self.admin = self._admin_app(c)
        self.console = AdminConsole(c, c.console)
        upstream = c.upstream or _not_found
        self.proxy = ProxyTarget(
            _pipeline(c, upstream, mode="proxy"),
            c.holder,
            peers,
            realm=s.realm,
            query_token=s.websocket_query_token,
        )

    def _admin_app(self, c: GatewayComponents) -> ASGIApp | None:
        if c.admin is None:
            return None
        scopes = tuple(c.settings.admin_scopes)
        router = Router(routes=[Mount(ADMIN_PREFIX, routes=token_routes(c.admin))])

        async def gate(scope: Scope, receive: Receive, send: Send) -> None:
            principal = scope.get("authgate.principal")
            try:
                if principal is None:
                    raise AuthError(ErrorCode.MISSING_TOKEN, "the admin API needs a credential")
                principal.require_scopes(*scopes, any_of=True)
            except AuthError as error:
                ctx = context_of(scope)
                ctx.refuser = plain_refuser(c.settings.realm)
                await ctx.refuse(send, error)
                return
            await router(scope, receive, send)

        return AuthgateMiddleware(gate, c.authenticator, realm=c.settings.realm)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.lifespan(receive, send)
            return
        path: str = scope["path"]
        found = self.routes.get(path)
        if found is not None and kind == "http":
            context_of(scope).route = found[0]
            await found[1](scope, receive, send)
        elif kind == "http" and (path.startswith(ENVOY_PREFIX + "/") or path == ENVOY_PREFIX):
            await self.envoy(scope, receive, send)
        elif path.startswith(ADMIN_PREFIX + "/") and self.admin is not None:
            context_of(scope).route = "admin-api"
            await self.admin(scope, receive, send)
        elif path == DASHBOARD_PREFIX or path.startswith(DASHBOARD_PREFIX + "/"):
            context_of(scope).route = "admin-dashboard"
            await self.console(scope, receive, send)
        else:
            await self.proxy(scope, receive, send)

    # -- system routes --------------------------------------------------------------------------
    async def healthz(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _send(send, 200, b'{"status":"ok"}', b"application/json")

    async def readyz(self, scope: Scope, receive: Receive, send: Send) -> None:
        checks: dict[str, Any] = {
            "policy": {"ok": True, "detail": f"{len(self.c.holder.current.rules)} rules"}
        }
        for probe in self.c.ready_checks:
            try:
                name, ok, detail = await probe()
            except Exception as exc:  # noqa: BLE001 - a failing probe is "not ready", never a 500
                name, ok, detail = getattr(probe, "__name__", "probe"), False, str(exc)
            checks[name] = {"ok": ok, "detail": detail}
        ready = all(v["ok"] for v in checks.values())
        body = orjson.dumps({"status": "ready" if ready else "not ready", "checks": checks})
        await _send(send, 200 if ready else 503, body, b"application/json")

    async def metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _send(send, 200, self.c.metrics.render(), CONTENT_TYPE)

    async def jwks(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.c.assertion.jwks() if self.c.assertion else b'{"keys":[]}'
        await _send(send, 200, body, b"application/jwk-set+json")

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for hook in self.c.startup:
                        await hook()
                except Exception as exc:  # noqa: BLE001 - reported to the server, which exits
                    _log.exception("gateway startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for hook in self.c.shutdown:
                    try:
                        await hook()
                    except Exception:  # noqa: BLE001 - keep closing the rest
                        _log.exception("gateway shutdown hook failed")
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(components: GatewayComponents) -> ASGIApp:
    """The gateway ASGI app for ``components``."""
    app: ASGIApp = _Dispatcher(components)
    app = RecentDenialsMiddleware(app, components.console.denials)
    app = MetricsMiddleware(app, components.metrics)
    if components.settings.access_log:
        app = AccessLogMiddleware(app)
    return RequestIdMiddleware(app)
