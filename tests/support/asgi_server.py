"""Serve any ASGI app with uvicorn on 127.0.0.1:0 in a thread (a real server, real sockets).

The socket is bound and listening before the thread starts, so the first request waits in the
backlog instead of racing startup — no sleeps, no readiness polling.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

__all__ = ["Served", "serve"]


@dataclass(frozen=True)
class Served:
    url: str
    ws_url: str
    server: uvicorn.Server


@contextmanager
def serve(app: ASGIApp, *, lifespan: str = "off") -> Iterator[Served]:
    """Serve ``app``; ``lifespan="on"`` runs its startup/shutdown hooks on the server's loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, ws="websockets-sansio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
