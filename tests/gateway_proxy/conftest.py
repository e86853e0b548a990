"""Reverse-proxy test fixtures: real servers on 127.0.0.1:0 (uvicorn and raw asyncio sockets).

``serve(app)`` runs any ASGI app under uvicorn inside the test's event loop and yields its port;
``upstream_app`` is the upstream the proxy forwards to. It echoes what it received, hashes
uploads, streams downloads, stalls on demand, and records the client port of every request so
tests can count upstream connections (one port = one connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson
import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send


@asynccontextmanager
async def serve(app: ASGIApp, **options: Any) -> AsyncIterator[int]:
    """Run ``app`` under uvicorn on a free loopback port until the block exits."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="auto",  # the proxy closes its pool at lifespan shutdown
        log_level="warning",
        ws="websockets-sansio",
        date_header=False,
        server_header=False,
        proxy_headers=False,  # as `authgate serve`: the peer address must stay the real one
        timeout_graceful_shutdown=5,
        **options,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(1000):  # bounded poll on a real condition
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def raw_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    """A bare TCP server (to misbehave in ways uvicorn never would)."""
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await handler(reader, writer)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:  # Python 3.11's wait_closed() leaves accepted sockets open
            writer.transport.abort()
        await server.wait_closed()


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Upstream:
    """Records of what the upstream saw."""

    ports: list[int] = field(default_factory=list)
    stalled: asyncio.Event = field(default_factory=asyncio.Event)
    stream_ended: asyncio.Event = field(default_factory=asyncio.Event)
    chunks_sent: int = 0

    @property
    def connections(self) -> int:
        return len(set(self.ports))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan: nothing to set up
        self.ports.append(scope["client"][1])
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        path = scope["path"]
        if path == "/hash":
            digest, size = hashlib.sha256(), 0
            while True:
                message = await receive()
                body = message.get("body", b"")
                digest.update(body)
                size += len(body)
                if not message.get("more_body"):
                    break
            await json_answer(send, {"sha256": digest.hexdigest(), "size": size, **_echo(scope)})
        elif path == "/download":
            await self._download(send, int(query["size"]), int(query.get("chunk", 65536)))
        elif path == "/endless":
            await self._endless(receive, send)
        elif path == "/stall":
            self.stalled.set()
            while (await receive())["type"] != "http.disconnect":
                pass  # never answers; the proxy's read timeout fires and drops the connection
        elif path == "/early":
            await json_answer(send, {"refused": True}, status=413)  # without reading the body
        else:
            await json_answer(send, _echo(scope), status=int(query.get("status", 200)))

    async def _download(self, send: Send, size: int, chunk: int) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # chunked
        sent = 0
        while sent < size:
            piece = pattern(sent, min(chunk, size - sent))
            sent += len(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _endless(self, receive: Receive, send: Send) -> None:
        # uvicorn's send() is silent after a disconnect, so watch receive() for it
        gone = asyncio.ensure_future(_until_disconnect(receive))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            while not gone.done():
                await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
                self.chunks_sent += 1
                await asyncio.sleep(0.01)  # a slow producer (e.g. a log tail)
        finally:
            gone.cancel()
            self.stream_ended.set()


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _echo(scope: Scope) -> dict[str, Any]:
    return {
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": scope["raw_path"].decode(),
        "query": scope["query_string"].decode(),
        "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
    }


def pattern(offset: int, size: int) -> bytes:
    """Deterministic bytes for position ``offset`` (so both ends can hash without storing)."""
    block = bytes(range(256)) * 256  # 64 KiB
    start = offset % len(block)
    out = bytearray()
    while len(out) < size:
        out += block[start : start + size - len(out)]
        start = 0
    return bytes(out)


async def json_answer(send: Send, body: dict[str, Any], *, status: int = 200) -> None:
    data = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def header(echo: dict[str, Any], name: str) -> list[str]:
    """All values of ``name`` the upstream received."""
    return [v for k, v in echo["headers"] if k == name]


@pytest.fixture
def upstream_app() -> Upstream:
    return Upstream()
