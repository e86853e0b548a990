"""Forward auth (nginx ``auth_request``, Caddy ``forward_auth``, Traefik ``forwardAuth``, Envoy
``ext_authz`` HTTP): decide about a request another proxy holds, answer 2xx or a refusal.

The original method/URI/host/scheme come from ``X-Original-*`` (nginx snippet) or
``X-Forwarded-*`` (Caddy, Traefik) — **only when the peer is a trusted proxy**. From anyone else
those headers are ignored and the decision is about the ``/authz`` request itself, which no
sane policy allows: a client cannot talk its way onto a public rule. Envoy appends the original
path to a prefix (``/authz/envoy/api/...``) and keeps the method.

Answers are 200 with identity headers, or 401/403/429 with ``WWW-Authenticate`` and the code in
``X-Authgate-Code``. Nothing else, ever: nginx turns any other status into a 500, so a 400 is
sent as 401 and a 5xx (keys unavailable: we cannot decide, so deny) as 403, the real status in
``X-Authgate-Status``. nginx also turns 429 into a 500, so the nginx shape (``/authz/nginx``)
sends 403 with ``X-Authgate-Status: 429`` and ``Retry-After``; the shipped snippet maps it back.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.errors import AuthError, ErrorCode
from authgate.gateway.context import Refuser, RequestContext, context_of
from authgate.gateway.target import NO_RULE, Peers, ambiguous_path, host_of, match_rule
from authgate.integrations.responses import error_body, error_headers
from authgate.policy.reload import PolicyHolder
from authgate.policy.rules import canonical_path

__all__ = [
    "ENVOY_PREFIX",
    "ForwardAuthEndpoint",
    "ForwardAuthTarget",
    "forward_refuser",
]

ENVOY_PREFIX = "/authz/envoy"
_ORIGINAL = {
    b"x-original-method": "method",
    b"x-original-uri": "uri",
    b"x-original-url": "uri",
    b"x-original-host": "host",
    b"x-original-proto": "proto",
}
_FORWARDED = {
    b"x-forwarded-method": "method",
    b"x-forwarded-uri": "uri",
    b"x-forwarded-host": "host",
    b"x-forwarded-proto": "proto",
}
_ALLOWED = (401, 403, 429)
_METHOD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _duplicate(name: bytes) -> AuthError:
    return AuthError(
        ErrorCode.INVALID_REQUEST,
        f"the forwarding header {name.decode()} was sent more than once",
    )


def forward_refuser(realm: str | None, *, nginx: bool = False) -> Refuser:
    """Refusals a forward-auth caller understands: only 401, 403 (and 429 unless ``nginx``)."""
    allowed = (401, 403) if nginx else _ALLOWED

    async def refuse(send: Send, error: AuthError, ctx: RequestContext) -> None:
        status = error.status
        sent = status if status in allowed else (401 if status == 400 else 403)
        body = error_body(error)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-authgate-code", str(error.code).encode()),
            (b"x-authgate-status", str(status).encode()),
            *error_headers(error, realm=realm),
        ]
        if not any(name == b"www-authenticate" for name, _ in headers):
            challenge = error.www_authenticate(realm).encode("latin-1")
            headers.append((b"www-authenticate", challenge))
        await send({"type": "http.response.start", "status": sent, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return refuse


class ForwardAuthTarget:
    """Pure ASGI: the original request, from forwarding headers of trusted peers only."""

    def __init__(
        self,
        app: ASGIApp,
        holder: PolicyHolder,
        peers: Peers,
        *,
        refuser: Refuser,
        envoy: bool = False,
    ) -> None:
        self.app = app
        self.holder = holder
        self.peers = peers
        self.refuser = refuser
        self.envoy = envoy

    def _forwarded(self, scope: Scope) -> dict[str, str]:
        """``method``/``uri``/``host``/``proto`` from the headers (X-Original-* first)."""
        original: dict[str, str] = {}
        forwarded: dict[str, str] = {}
        for name, value in scope["headers"]:
            field = _ORIGINAL.get(name)
            into = original
            if field is None:
                field = _FORWARDED.get(name)
                into = forwarded
                if field is None:
                    continue
            if field in into:
                raise _duplicate(name)
            into[field] = value.decode("latin-1").strip()
        return {**forwarded, **original}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        ctx.refuser = self.refuser
        ctx.receive = receive
        ctx.client_ip = self.peers.client_ip(scope)
        try:
            raw_path = self._describe(ctx, scope)
        except AuthError as error:
            ctx.route = NO_RULE
            await ctx.refuse(send, error)
            return
        path = canonical_path(raw_path)
        if path is None:
            ctx.route = NO_RULE
            await ctx.refuse(send, ambiguous_path())
            return
        ctx.path = path
        match_rule(ctx, self.holder)
        await self.app(scope, receive, send)

    def _describe(self, ctx: RequestContext, scope: Scope) -> str:
        """Set method/host/scheme on ``ctx``; return the raw original path (with query)."""
        raw = scope.get("raw_path")
        own_path: str = raw.decode("latin-1") if raw else scope["path"]
        ctx.host = host_of(scope)
        if not self.peers.trusted(scope):
            return own_path  # forwarding headers from strangers are ignored, not believed
        given = self._forwarded(scope)
        if self.envoy:
            uri = own_path[len(ENVOY_PREFIX) :] or "/"
            query = scope.get("query_string", b"")
            if query:
                uri += "?" + query.decode("latin-1")
        else:
            uri = given.get("uri") or own_path
            ctx.method = (given.get("method") or ctx.method).upper()
        if not ctx.method or not set(ctx.method) <= _METHOD_CHARS:
            raise AuthError(ErrorCode.INVALID_REQUEST, "the original method is not a method")
        ctx.host = given.get("host") or ctx.host
        proto = given.get("proto", "").lower()
        if proto in ("http", "https"):
            ctx.scheme = proto
        path, _, query = uri.partition("?")
        ctx.query = query
        return path


class ForwardAuthEndpoint:
    """The innermost app: 200 and the identity headers the pipeline prepared.

    Every identity header in ``names`` is always present, empty when it has no value (a public
    route, no client id): a proxy that copies a header it did not receive may otherwise pass
    the client's own value on, or (Caddy 2.6) a literal ``{http.reverse_proxy.header.…}``.
    """

    _BASE = ((b"content-length", b"0"), (b"cache-control", b"no-store"))

    def __init__(self, names: tuple[bytes, ...] = ()) -> None:
        self.names = names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = context_of(scope)
        headers = [*self._BASE, *ctx.upstream_headers]
        if len(ctx.upstream_headers) < len(self.names):
            present = {name for name, _ in ctx.upstream_headers}
            headers.extend((name, b"") for name in self.names if name not in present)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
