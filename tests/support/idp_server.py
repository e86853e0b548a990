"""The dev IdP served by uvicorn on 127.0.0.1:0 in a thread, for tests that need a real Okta-like peer.

The socket is bound and listening before the thread starts, so requests made right away wait in
the backlog instead of racing the server start: no sleeping, no polling for readiness.

    with running_idp() as served:
        httpx.post(served.url + "/oauth2/default/v1/token", ...)
        served.idp.rotate_keys("default")
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from authgate.clock import Clock, system_clock
from authgate.idp.app import bind, make_server
from authgate.idp.config import IdPConfig
from authgate.idp.state import IdP, ServerState

__all__ = ["ServedIdP", "running_idp"]


@dataclass
class ServedIdP:
    """A running dev IdP: ``url`` (the org URL), ``idp`` (its state, for the Python control API)."""

    url: str
    idp: IdP
    server: uvicorn.Server

    def issuer(self, server_id: str = "default") -> str:
        return self.idp.server(server_id).issuer

    def endpoint(self, name: str, server_id: str = "default") -> str:
        """``{base}/v1/{name}`` of ``server_id`` (``"org"`` for the org AS)."""
        return self.idp.server(server_id).endpoint(name)

    def auth_server(self, server_id: str = "default") -> ServerState:
        return self.idp.server(server_id)


@contextmanager
def running_idp(
    config: IdPConfig | None = None, *, clock: Clock = system_clock
) -> Iterator[ServedIdP]:
    """Serve a dev IdP (the demo config by default) for the duration of the block."""
    idp = IdP(config or IdPConfig.default(), clock=clock)
    sock = bind("127.0.0.1", 0)
    server = make_server(idp, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield ServedIdP(idp.base_url, idp, server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
