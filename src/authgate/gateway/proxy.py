"""Streaming reverse proxy (RFC 9110 §7.6 message forwarding) as an ASGI app.

Mounted by the gateway as the catch-all after the auth pipeline: the request arrives already
authorised, with our identity headers in ``scope["authgate.upstream_headers"]``. Bodies stream in
both directions with backpressure (a 300 MB upload or download stays a few hundred KB in
memory); the upstream is reached through :class:`~authgate.gateway.upstream_pool.UpstreamPool`
(HTTP/1.1 keep-alive). Failures before the answer starts become JSON errors with stable codes:
``gateway.upstream_unavailable`` (502) and ``gateway.upstream_timeout`` (504). WebSocket scopes
go to :mod:`authgate.gateway.websocket`.

Header rules (RFC 9110 §7.6.1): hop-by-hop fields and any field the client's ``Connection``
names are dropped both ways; every client-sent ``X-Authgate-*`` and each ``strip_headers`` name is
dropped before our identity headers are added, so an upstream never sees a forged identity.
``X-Forwarded-For`` gets the peer appended; ``X-Forwarded-Proto``/``-Host`` (and ``Forwarded``,
``X-Real-IP``) are ours unless the peer is a trusted proxy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from starlette.types import Receive, Scope, Send

from authgate.clock import Clock, system_clock
from authgate.errors import AuthgateError, ConfigError, ErrorCode, status_for
from authgate.gateway.upstream_pool import UpstreamConnection, UpstreamError, UpstreamPool
from authgate.gateway.websocket import WebSocketProxy

__all__ = ["HOP_BY_HOP", "ForwardingHeaders", "ReverseProxy"]

_log = logging.getLogger("authgate.gateway.proxy")

# RFC 9110 §7.6.1 plus the legacy names proxies still send; ``expect`` because we already read
# the body (uvicorn answered 100-continue), ``host``/``content-length`` because we set them.
HOP_BY_HOP = frozenset(
    (
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authorization",
        b"proxy-authenticate",
        b"expect",
        b"host",
        b"content-length",
    )
)
_FORWARDING = frozenset((b"x-forwarded-proto", b"x-forwarded-host", b"forwarded", b"x-real-ip"))
_RESPONSE_DROP = HOP_BY_HOP - {b"content-length"}
_IDENTITY_PREFIX = b"x-authgate-"


def _bad_value(value: bytes) -> bool:
    return b"\r" in value or b"\n" in value or b"\0" in value


class ForwardingHeaders:
    """Builds the upstream request's header block from the client's (shared with WebSockets)."""

    def __init__(
        self,
        host_header: bytes,
        *,
        strip_headers: Iterable[str] = (),
        trusted_proxies: Iterable[str] = (),
        preserve_host: bool = False,
    ) -> None:
        self.host_header = host_header
        self.strip = frozenset(name.lower().encode("latin-1") for name in strip_headers)
        self.trusted = tuple(ipaddress.ip_network(c, strict=False) for c in trusted_proxies)
        self.preserve_host = preserve_host

    def _peer_trusted(self, peer: str | None) -> bool:
        if not self.trusted or peer is None:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    def build(
        self, scope: Scope, request_id: str
    ) -> tuple[list[tuple[bytes, bytes]], int | None, bool]:
        """``(headers, content_length, chunked)`` for the upstream request.

        Raises AuthgateError when an identity header value cannot be sent safely.
        """
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        dropped = self.strip
        for name, value in headers:
            if name == b"connection":
                tokens = {t.strip().lower() for t in value.split(b",")}
                dropped = dropped | tokens
        client = scope.get("client")
        peer = client[0] if client else None
        trusted = self._peer_trusted(peer)
        out: list[tuple[bytes, bytes]] = []
        forwarded_for: list[bytes] = []
        kept: dict[bytes, bytes] = {}
        host = b""
        content_length: int | None = None
        chunked = False
        for name, value in headers:
            if name in HOP_BY_HOP:
                if name == b"host":
                    host = value
                elif name == b"content-length":
                    content_length = int(value)  # uvicorn already validated the framing
                elif name == b"transfer-encoding":
                    chunked = True
                continue
            if name in dropped or name.startswith(_IDENTITY_PREFIX):
                continue
            if name == b"x-forwarded-for":
                forwarded_for.append(value)
            elif name in _FORWARDING:
                if trusted:
                    kept[name] = value
            else:
                out.append((name, value))
        for name, value in scope.get("authgate.upstream_headers") or ():
            if _bad_value(value):
                raise AuthgateError(
                    ErrorCode.INVALID_CLAIM,
                    f"identity header {name.decode('latin-1')} would contain a line break",
                )
            out.append((name, value))
        if peer is not None:
            forwarded_for.append(peer.encode("latin-1"))
        if forwarded_for:
            out.append((b"x-forwarded-for", b", ".join(forwarded_for)))
        proto = b"https" if scope.get("scheme") in ("https", "wss") else b"http"
        out.append((b"x-forwarded-proto", kept.pop(b"x-forwarded-proto", proto)))
        if host:
            out.append((b"x-forwarded-host", kept.pop(b"x-forwarded-host", host)))
        out.extend(kept.items())
        out.append((b"x-request-id", request_id.encode("latin-1")))
        out.append((b"host", host if self.preserve_host and host else self.host_header))
        return out, content_length, chunked


def request_id_of(scope: Scope) -> str:
    """The gateway's request id (set by its request-id middleware), or a fresh one."""
    ctx = scope.get("authgate.ctx")
    request_id = getattr(ctx, "request_id", "")
    return request_id if isinstance(request_id, str) and request_id else os.urandom(8).hex()


def target_of(scope: Scope, base_path: bytes) -> bytes:
    """The request target: the raw path (never re-encoded, RFC 9112 §3.2.1) and query."""
    raw = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
    query = scope.get("query_string")
    target: bytes = base_path + raw if base_path else raw
    return target + b"?" + query if query else target


async def send_error(
    send: Send, code: ErrorCode, detail: str, request_id: str, *, status: int | None = None
) -> None:
    """A JSON error answer with a stable code (used before the upstream answer has started)."""
    body = orjson.dumps({"code": str(code), "message": detail, "request_id": request_id})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    status = status if status is not None else status_for(code)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _ClientGone(Exception):
    """The client disconnected; nothing more can be sent to it."""


class _TooLarge(Exception):
    """The request body exceeded ``max_body``."""


class ReverseProxy:
    """ASGI app forwarding each request to ``upstream`` (``http(s)://host[:port][/base]``)."""

    def __init__(
        self,
        upstream: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        pool_size: int = 100,
        max_body: int | None = None,
        strip_headers: Iterable[str] = (),
        trusted_proxies: Iterable[str] = (),
        preserve_host: bool = False,
        idle_timeout: float = 4.0,
        websocket_max_size: int = 16 * 1024 * 1024,
        clock: Clock = system_clock,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("upstream", f"must be an http:// or https:// URL, got {upstream!r}")
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        default_port = port == (443 if secure else 80)
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        self.base_path = parts.path.rstrip("/").encode("ascii")
        self.max_body = max_body
        self.pool = UpstreamPool(
            parts.hostname,
            port,
            size=pool_size,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            idle_timeout=idle_timeout,
            ssl_context=ssl.create_default_context() if secure else None,
            clock=clock,
        )
        self.headers = ForwardingHeaders(
            (host if default_port else f"{host}:{port}").encode("idna"),
            strip_headers=strip_headers,
            trusted_proxies=trusted_proxies,
            preserve_host=preserve_host,
        )
        ws_base = f"{'wss' if secure else 'ws'}://{host}:{port}{parts.path.rstrip('/')}"
        self.websocket = WebSocketProxy(
            ws_base,
            self.headers,
            connect_timeout=connect_timeout,
            max_size=websocket_max_size,
            ssl_context=self.pool.ssl_context,
        )

    async def aclose(self) -> None:
        """Close idle upstream connections (call at shutdown)."""
        self.pool.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "websocket":
            await self.websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_of(scope)
        try:
            headers, length, chunked = self.headers.build(scope, request_id)
        except AuthgateError as error:
            await send_error(send, error.code, error.detail, request_id, status=400)
            return
        if length is not None and self.max_body is not None and length > self.max_body:
            await self._too_large(send, request_id)
            return
        method: str = scope["method"]
        has_body = chunked or bool(length)
        if chunked:
            headers.append((b"transfer-encoding", b"chunked"))
        elif length is not None:
            headers.append((b"content-length", b"%d" % length))
        head = [method.encode("ascii"), b" ", target_of(scope, self.base_path), b" HTTP/1.1\r\n"]
        for name, value in headers:
            head += (name, b": ", value, b"\r\n")
        head.append(b"\r\n")
        conn: UpstreamConnection | None = None
        watcher: asyncio.Future[Any] | None = None
        started = [False]
        try:
            conn = await self._exchange(head, method == "HEAD", has_body, chunked, receive)
            if not conn.complete:
                # a streamed answer: watch for the client leaving, which uvicorn's send() would
                # not tell us, so a long download stops at once instead of draining upstream
                watcher = asyncio.ensure_future(self._watch_disconnect(receive, conn))
            await self._respond(conn, send, started)
        except UpstreamError as error:
            if watcher is not None and watcher.done():
                return  # the client left and we aborted the upstream: nobody to answer
            _log.warning(
                "upstream error [%s] %s request_id=%s", error.code, error.detail, request_id
            )
            if not started[0]:
                await send_error(send, error.code, error.detail, request_id)
            # else: returning with the body incomplete makes the server close the connection,
            # which is how HTTP/1.1 tells the client the answer was truncated
        except _TooLarge:
            await self._too_large(send, request_id)
        except _ClientGone:
            pass
        finally:
            if watcher is not None:
                watcher.cancel()
            if conn is not None:
                self.pool.release(conn)

    async def _exchange(
        self, head: list[bytes], is_head: bool, has_body: bool, chunked: bool, receive: Receive
    ) -> UpstreamConnection:
        """Send the request on a pooled connection and wait for the answer's head."""
        conn = await self.pool.acquire()
        try:
            conn.begin(head_request=is_head)
            conn.write(head)
            if has_body:
                await self._send_body(conn, receive, chunked)
            else:
                conn.request_sent = True
            await conn.read_head()
        except UpstreamError as error:
            self.pool.release(conn)
            if not (error.before_response and conn.reused and not has_body):
                raise
            # the upstream closed an idle keep-alive connection just as we reused it: retry
            # once on a fresh connection (safe: nothing was consumed from the client)
            conn = await self.pool.acquire()
            conn.begin(head_request=is_head)
            conn.write(head)
            conn.request_sent = True
            try:
                await conn.read_head()
            except BaseException:
                self.pool.release(conn)
                raise
        except BaseException:
            self.pool.release(conn)
            raise
        return conn

    async def _send_body(self, conn: UpstreamConnection, receive: Receive, chunked: bool) -> None:
        total, limit = 0, self.max_body
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            body: bytes = message.get("body", b"")
            if body:
                total += len(body)
                if limit is not None and total > limit:
                    raise _TooLarge
                conn.write([b"%x\r\n" % len(body), body, b"\r\n"] if chunked else body)
                await conn.drain()
                if conn.head_done:
                    return  # the upstream answered early (e.g. 413): stop sending, keep its answer
            if not message.get("more_body", False):
                break
        if chunked:
            conn.write(b"0\r\n\r\n")
        conn.request_sent = True

    async def _respond(self, conn: UpstreamConnection, send: Send, started: list[bool]) -> None:
        drop = _RESPONSE_DROP
        for name, value in conn.headers:
            if name == b"connection":
                drop = drop | {t.strip().lower() for t in value.split(b",")}
        headers = [(n, v) for n, v in conn.headers if n not in drop]
        await send({"type": "http.response.start", "status": conn.status, "headers": headers})
        started[0] = True
        body = await conn.read_body()
        while body and not (conn.complete and not conn.chunks):
            await send({"type": "http.response.body", "body": body, "more_body": True})
            body = await conn.read_body()
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _watch_disconnect(self, receive: Receive, conn: UpstreamConnection) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not conn.complete:
            conn.abort()  # the client left mid-answer: stop reading from the upstream

    async def _too_large(self, send: Send, request_id: str) -> None:
        await send_error(
            send,
            ErrorCode.INVALID_REQUEST,
            f"the request body is larger than the gateway's limit of {self.max_body} bytes",
            request_id,
            status=413,
        )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
