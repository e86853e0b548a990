"""A minimal HTTP/1.1 hello upstream (RFC 9112 §9.3 keep-alive) for the gateway benchmark.

Every proxy in ``bench/gateway.py`` forwards to this server, so it has to cost as little as
possible: a raw asyncio protocol on uvloop with the httptools request parser, one canned
keep-alive answer, no framework. Request bodies are read and dropped; it counts connections so
a run can show whether a proxy reuses them.

    python bench/upstream_hello.py --port 9002          # prints "listening 127.0.0.1:9002"
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import cast

import httptools

BODY = b"Hello, world!\n"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)
CLOSE_ANSWER = ANSWER.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Stats:
    """Counters printed on exit (and readable from tests that import this module)."""

    connections = 0
    requests = 0


class HelloProtocol(asyncio.Protocol):
    """One client connection: parse requests, answer each with ``ANSWER``."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, so no isinstance check here
        self.transport = cast(asyncio.Transport, transport)
        Stats.connections += 1

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.write(BAD_REQUEST)
                self.transport.close()

    def on_message_complete(self) -> None:
        Stats.requests += 1
        if self.transport is None:
            return
        if self.parser.should_keep_alive():
            self.transport.write(ANSWER)
        else:
            self.transport.write(CLOSE_ANSWER)
            self.transport.close()


async def serve(host: str, port: int) -> None:
    """Listen until SIGTERM/SIGINT; print the bound address so callers can read the port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HelloProtocol, host, port, backlog=1024, reuse_address=True)
    bound = server.sockets[0].getsockname()
    print(f"listening {bound[0]}:{bound[1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    print(f"connections={Stats.connections} requests={Stats.requests}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
