"""WebSocket proxying (RFC 6455): relay messages and close codes between client and upstream.

The gateway's middleware has already authenticated the handshake when this runs. We open the
upstream connection *before* accepting the client's, so the client sees the upstream's chosen
subprotocol, and an upstream that refuses or is down answers the handshake with an HTTP error
(502/504 with a stable code, or the upstream's own status) instead of an accept-then-close.

Then two pumps move messages, each awaiting the other side's send, so a slow reader slows the
writer instead of growing a queue (backpressure). Close codes are relayed both ways; the codes
that may not appear on the wire (1005 no status, 1006 abnormal, 1015 TLS) are mapped to codes
that can (RFC 6455 §7.4.1). Pings are answered per hop by each side's WebSocket stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from authgate.errors import ErrorCode, status_for

if TYPE_CHECKING:
    from authgate.gateway.proxy import ForwardingHeaders

__all__ = ["WebSocketProxy", "wire_close_code"]

_log = logging.getLogger("authgate.gateway.websocket")

# set by the WebSocket libraries on each side; never copied from one handshake to the other
_HANDSHAKE = frozenset(
    (
        b"host",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
        b"sec-websocket-accept",
        b"origin",
        b"user-agent",
    )
)
BAD_GATEWAY = 1014  # IANA WebSocket close code registry: "Bad Gateway"


def wire_close_code(code: int | None, *, abnormal: int) -> int:
    """A close code that may be sent in a close frame; ``abnormal`` replaces 1006/1015."""
    if code is None or code == 1005:
        return 1000
    if code in (1006, 1015):
        return abnormal
    return code


class WebSocketProxy:
    """ASGI ``websocket`` handler relaying to ``base_url`` + the request path."""

    def __init__(
        self,
        base_url: str,
        headers: ForwardingHeaders,
        *,
        connect_timeout: float = 5.0,
        max_size: int = 16 * 1024 * 1024,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.base_url = base_url
        self.headers = headers
        self.connect_timeout = connect_timeout
        self.max_size = max_size
        self.ssl_context = ssl_context

    def _url(self, scope: Scope) -> str:
        raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        query: bytes = scope.get("query_string", b"")
        ctx = scope.get("authgate.ctx")
        if query and getattr(ctx, "query_token", False):
            # the handshake's ?access_token= was our credential, not the upstream's
            pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
            query = urlencode([(k, v) for k, v in pairs if k != "access_token"]).encode("latin-1")
        target = raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        return self.base_url + target

    async def _open(self, scope: Scope, request_id: str) -> ClientConnection:
        headers, _, _ = self.headers.build(scope, request_id)
        extra = [
            (n.decode("latin-1"), v.decode("latin-1")) for n, v in headers if n not in _HANDSHAKE
        ]
        client_headers = dict(scope["headers"])
        origin = client_headers.get(b"origin")
        agent = client_headers.get(b"user-agent")
        options: dict[str, Any] = {"ssl": self.ssl_context} if self.ssl_context else {}
        return await connect(
            self._url(scope),
            origin=origin.decode("latin-1") if origin else None,
            subprotocols=scope.get("subprotocols") or None,
            additional_headers=extra,
            user_agent_header=agent.decode("latin-1") if agent else None,
            compression=None,  # loopback/LAN hop: deflate would only cost CPU
            proxy=None,
            open_timeout=self.connect_timeout,
            max_size=self.max_size,
            **options,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from authgate.gateway.proxy import request_id_of  # proxy imports this module

        if (await receive())["type"] != "websocket.connect":
            return
        request_id = request_id_of(scope)
        try:
            upstream = await self._open(scope, request_id)
        except InvalidStatus as refused:
            response = refused.response
            await self._refuse(
                scope,
                send,
                response.status_code,
                bytes(response.body or b""),
                response.headers.get("content-type", "text/plain"),
            )
            return
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            code = (
                ErrorCode.GATEWAY_UPSTREAM_TIMEOUT
                if isinstance(exc, TimeoutError)
                else ErrorCode.GATEWAY_UPSTREAM_UNAVAILABLE
            )
            detail = f"WebSocket upstream handshake failed: {type(exc).__name__}: {exc}"
            _log.warning("%s [%s] request_id=%s", detail, code, request_id)
            body = orjson.dumps({"code": str(code), "message": detail, "request_id": request_id})
            await self._refuse(scope, send, status_for(code), body, "application/json")
            return
        await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
        await self._relay(upstream, receive, send)

    async def _refuse(self, scope: Scope, send: Send, status: int, body: bytes, ctype: str) -> None:
        if "websocket.http.response" in (scope.get("extensions") or {}):
            headers = [
                (b"content-type", ctype.encode("latin-1")),
                (b"content-length", b"%d" % len(body)),
            ]
            await send(
                {"type": "websocket.http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": BAD_GATEWAY})

    async def _relay(self, upstream: ClientConnection, receive: Receive, send: Send) -> None:
        client_open = [True]
        downstream = asyncio.ensure_future(self._upstream_to_client(upstream, send, client_open))
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    text = message.get("text")
                    data = text if text is not None else message.get("bytes") or b""
                    with contextlib.suppress(ConnectionClosed):
                        await upstream.send(data)  # the downstream pump relays the close
                elif kind == "websocket.disconnect":
                    client_open[0] = False
                    code = wire_close_code(message.get("code"), abnormal=1001)
                    await upstream.close(code, message.get("reason") or "")
                    break
        finally:
            client_open[0] = False
            if not downstream.done():
                await upstream.close(1001)  # cancelled or failed on our side: going away
                try:
                    await asyncio.wait_for(downstream, timeout=self.connect_timeout)
                except (TimeoutError, asyncio.CancelledError):
                    downstream.cancel()

    async def _upstream_to_client(
        self, upstream: ClientConnection, send: Send, client_open: list[bool]
    ) -> None:
        try:
            async for data in upstream:
                if isinstance(data, str):
                    await send({"type": "websocket.send", "text": data})
                else:
                    await send({"type": "websocket.send", "bytes": data})
        except ConnectionClosed:
            pass
        if client_open[0]:
            close = upstream.protocol.close_rcvd
            code = wire_close_code(close.code if close else 1006, abnormal=BAD_GATEWAY)
            reason = close.reason if close else "upstream connection lost"
            with contextlib.suppress(OSError, RuntimeError):  # the client left meanwhile
                await send({"type": "websocket.close", "code": code, "reason": reason})
