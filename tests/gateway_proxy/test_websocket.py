"""WebSocket proxying with real clients (``websockets``) through uvicorn to a real echo upstream."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Request, Response

from authgate.gateway.proxy import ReverseProxy

from .conftest import closed_port, serve
from .test_proxy_http import with_identity

pytestmark = pytest.mark.anyio


@dataclass
class Echo:
    """What the echo upstream saw: handshake headers, path, close codes from the proxy."""

    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    closes: list[tuple[int | None, str | None]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handler(self, ws: ServerConnection) -> None:
        self.headers.append({k.lower(): v for k, v in ws.request.headers.raw_items()})
        self.paths.append(ws.request.path)
        try:
            async for message in ws:
                if isinstance(message, str) and message.startswith("close:"):
                    _, code, reason = message.split(":", 2)
                    await ws.close(int(code), reason)
                    return
                await ws.send(message)
        except ConnectionClosed:
            pass
        finally:
            rcvd = ws.protocol.close_rcvd
            self.closes.append((rcvd.code, rcvd.reason) if rcvd else (None, None))
            self.closed.set()


def refuse_forbidden(connection: ServerConnection, request: Request) -> Response | None:
    if request.path.startswith("/forbidden"):
        return connection.respond(403, "no entry\n")
    return None


@asynccontextmanager
async def echo_chain(**proxy_options: object) -> AsyncIterator[tuple[Echo, str]]:
    """Echo upstream ← ReverseProxy on uvicorn; yields the echo and the proxy's ws:// base."""
    echo = Echo()
    async with ws_serve(
        echo.handler,
        "127.0.0.1",
        0,
        select_subprotocol=lambda _, offered: "chat.v1" if "chat.v1" in offered else None,
        process_request=refuse_forbidden,
        max_size=None,
    ) as server:
        up_port = server.sockets[0].getsockname()[1]
        proxy = ReverseProxy(f"http://127.0.0.1:{up_port}", **proxy_options)  # type: ignore[arg-type]
        async with serve(with_identity(proxy, request_id="ws-1"), ws_max_size=64 * 2**20) as port:
            yield echo, f"ws://127.0.0.1:{port}"


async def test_text_binary_and_large_messages_round_trip() -> None:
    big = os.urandom(8 * 2**20)
    async with echo_chain() as (echo, base), connect(f"{base}/chat?room=1", max_size=None) as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello"
        await ws.send(b"\x00\x01binary")
        assert await ws.recv() == b"\x00\x01binary"
        await ws.send(big)
        assert await ws.recv() == big
        await ws.send("é" * 100_000)
        assert await ws.recv() == "é" * 100_000
        latency = await (await ws.ping())  # pings are answered on each hop
        assert latency >= 0
    assert echo.paths == ["/chat?room=1"]


async def test_handshake_carries_identity_and_drops_forged_headers() -> None:
    async with (
        echo_chain(strip_headers=["x-user"]) as (echo, base),
        connect(
            f"{base}/chat",
            additional_headers={"X-Authgate-Roles": "Admin", "X-User": "mallory", "X-App": "1"},
            subprotocols=["chat.v2", "chat.v1"],  # type: ignore[list-item]
        ) as ws,
    ):
        assert ws.subprotocol == "chat.v1"  # the upstream's choice reaches the client
        await ws.send("ping")
        assert await ws.recv() == "ping"
    seen = echo.headers[0]
    assert seen["x-authgate-subject"] == "alice@example.com"
    assert "x-authgate-roles" not in seen
    assert "x-user" not in seen
    assert seen["x-app"] == "1"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-request-id"] == "ws-1"


async def test_upstream_close_code_reaches_the_client() -> None:
    async with echo_chain() as (_, base), connect(f"{base}/chat") as ws:
        await ws.send("close:4001:policy says bye")
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "policy says bye")


async def test_client_close_code_reaches_the_upstream() -> None:
    async with echo_chain() as (echo, base):
        async with connect(f"{base}/chat") as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
            await ws.close(4002, "done here")
        await asyncio.wait_for(echo.closed.wait(), timeout=10)
    assert echo.closes == [(4002, "done here")]


async def test_upstream_refusal_and_absence_answer_the_handshake() -> None:
    async with echo_chain() as (_, base):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{base}/forbidden"):
                pass
    assert refused.value.response.status_code == 403
    assert b"no entry" in (refused.value.response.body or b"")

    proxy = ReverseProxy(f"http://127.0.0.1:{closed_port()}")
    async with serve(with_identity(proxy)) as port:
        with pytest.raises(InvalidStatus) as down:
            async with connect(f"ws://127.0.0.1:{port}/chat"):
                pass
    assert down.value.response.status_code == 502
    assert b"gateway.upstream_unavailable" in (down.value.response.body or b"")


async def test_backpressure_many_messages_in_order() -> None:
    async with echo_chain() as (_, base), connect(f"{base}/chat") as ws:

        async def produce() -> None:
            for i in range(2000):
                await ws.send(f"m{i}:" + "p" * 4000)

        producer = asyncio.create_task(produce())
        for i in range(2000):
            message = await ws.recv()
            assert isinstance(message, str)
            assert message.startswith(f"m{i}:")
        await producer
