"""The request a decision is about, for the reverse proxy (RFC 9110 §7.1 target URI), and refusals.

In reverse-proxy mode the request itself is the target: method, ``Host`` and the *raw* path
(``scope["raw_path"]``, so ``%2F`` tricks are seen before anything decodes them). The path is
canonicalised with :func:`~authgate.policy.rules.canonical_path`; an ambiguous one is refused.
The first matching policy rule is looked up once from the holder's current snapshot, so a
reload mid-request cannot change the rule under it. Refusals are JSON with the RFC 6750 §3
challenge; a refused WebSocket handshake is closed with 1008 and the code as the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv6Address, ip_address, ip_network

from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.client_ip import ClientIPResolver
from authgate.errors import AuthError, ErrorCode
from authgate.gateway.context import Refuser, RequestContext, context_of
from authgate.integrations.responses import error_body, error_headers
from authgate.policy.reload import PolicyHolder
from authgate.policy.rules import canonical_path

__all__ = [
    "NO_RULE",
    "Peers",
    "ProxyTarget",
    "ambiguous_path",
    "host_of",
    "match_rule",
    "plain_refuser",
]

NO_RULE = "(no rule)"
_MEMO = 4096  # distinct peers/forwarding chains remembered; a proxy tier has few of them


class Peers:
    """Trusted-proxy decisions and client IPs, memoised per peer and forwarding chain.

    Parsing addresses with ``ipaddress`` costs microseconds; behind nginx every request comes
    from the same few peers with the same few ``X-Forwarded-For`` values, so the answers are
    remembered (bounded: cleared when full, never stale — they depend on nothing else).
    """

    def __init__(self, resolver: ClientIPResolver, trusted_proxies: Iterable[str]) -> None:
        self.resolver = resolver
        self.networks = tuple(ip_network(c, strict=False) for c in trusted_proxies)
        self._trusted: dict[str, bool] = {}
        self._client: dict[tuple[str, tuple[bytes, ...]], str | None] = {}

    def trusted(self, scope: Scope) -> bool:
        """Whether the socket peer is one of our proxies (whose forwarding headers count)."""
        client = scope.get("client")
        if not client or not self.networks:
            return False
        host: str = client[0]
        known = self._trusted.get(host)
        if known is None:
            if len(self._trusted) >= _MEMO:
                self._trusted.clear()
            known = self._trusted[host] = self._check(host)
        return known

    def _check(self, host: str) -> bool:
        try:
            peer = ip_address(host)
        except ValueError:
            return False
        if isinstance(peer, IPv6Address) and peer.ipv4_mapped is not None:
            peer = peer.ipv4_mapped
        return any(peer in network for network in self.networks)

    def client_ip(self, scope: Scope) -> str | None:
        client = scope.get("client")
        if not client:
            return None
        header = self.resolver.header
        key = (client[0], tuple(v for k, v in scope["headers"] if k == header))
        if key in self._client:
            return self._client[key]
        if len(self._client) >= _MEMO:
            self._client.clear()
        found = self._client[key] = self.resolver.resolve(scope)
        return found


def ambiguous_path() -> AuthError:
    return AuthError(
        ErrorCode.ACCESS_DENIED,
        "the request path is ambiguous (dot segments, '//', an encoded '/' or '\\'); "
        "send its canonical form",
    )


def match_rule(ctx: RequestContext, holder: PolicyHolder) -> None:
    """Fill ``ctx.rule``/``params``/``route`` from the current policy (None = default deny)."""
    found = holder.current.match(ctx.method, ctx.host, ctx.path)
    if found is None:
        ctx.rule, ctx.route = None, NO_RULE
    else:
        ctx.rule, ctx.params = found
        ctx.route = found[0].name


def host_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"host":
            host: str = value.decode("latin-1")
            return host
    server = scope.get("server")
    return f"{server[0]}:{server[1]}" if server else ""


def plain_refuser(realm: str | None) -> Refuser:
    """The reverse proxy's refusal: the error's own status, JSON body, challenge headers."""

    async def refuse(send: Send, error: AuthError, ctx: RequestContext) -> None:
        if ctx.scope["type"] == "websocket":
            await refuse_websocket(send, error, ctx)
            return
        body = error_body(error)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *error_headers(error, realm=realm),
        ]
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return refuse


async def refuse_websocket(send: Send, error: AuthError, ctx: RequestContext) -> None:
    """Accept then close with 1008 and the code (RFC 6455 §7.4.1; 1000 would read as success)."""
    if ctx.receive is not None:
        message = await ctx.receive()
        if message["type"] != "websocket.connect":
            return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 1008, "reason": str(error.code)})


class ProxyTarget:
    """Pure ASGI: describes the request itself as the target, then matches the policy."""

    def __init__(
        self,
        app: ASGIApp,
        holder: PolicyHolder,
        peers: Peers,
        *,
        realm: str | None = "authgate",
        query_token: bool = False,
    ) -> None:
        self.app = app
        self.holder = holder
        self.peers = peers
        self.refuser = plain_refuser(realm)
        self.query_token = query_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        ctx.refuser = self.refuser
        ctx.receive = receive
        if scope["type"] == "websocket":
            ctx.query_token = self.query_token
            ctx.method = "GET"
            ctx.scheme = "wss" if scope.get("scheme") == "wss" else "ws"
        ctx.host = host_of(scope)
        ctx.client_ip = self.peers.client_ip(scope)
        raw = scope.get("raw_path")
        path = canonical_path(raw.decode("latin-1") if raw else scope["path"])
        if path is None:
            ctx.route = NO_RULE
            await ctx.refuse(send, ambiguous_path())
            return
        ctx.path = path
        match_rule(ctx, self.holder)
        await self.app(scope, receive, send)
