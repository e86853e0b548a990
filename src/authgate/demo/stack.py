"""The running demo: dev IdP, sample upstream and two gateways on loopback (issue #7 ``authgate demo``).

Why two gateways: token exchange (RFC 8693) applies to every proxied request of a gateway, and
only a user's token can be exchanged, so the exchange hop gets its own gateway in front of the
same upstream. Each server gets a socket that is listening before its thread starts, so the
first request waits in the backlog instead of racing the start (no sleeping, no polling).
Ports: ``base`` … ``base+3`` when free (9000-9003 by default), otherwise any free port.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import uvicorn
from starlette.types import ASGIApp

from authgate.gateway.app import GatewayComponents, create_app
from authgate.gateway.builder import build_components
from authgate.gateway.exchange import UpstreamTokenExchange
from authgate.gateway.settings import load_gateway_settings
from authgate.idp.app import bind, make_server
from authgate.idp.config import IdPConfig
from authgate.idp.state import IdP
from authgate.okta.token_client import OktaTokenClient
from authgate.service_tokens.settings import TokenSettings
from authgate.settings import load_settings

from .upstream import create_upstream

__all__ = ["POLICY", "DemoStack"]

POLICY = """
[[rules]]
name = "health"
path = "/api/v1/health"
public = true

[[rules]]
name = "policies-read"
methods = ["GET"]
path = "/api/v1/policies"
authenticated = true

[[rules]]
name = "policies-write"
methods = ["POST"]
path = "/api/v1/policies"
roles = ["Admin"]

[[rules]]
name = "rebuild"
methods = ["POST"]
path = "/api/v1/rebuild/file"
authenticated = true

[[rules]]
name = "whoami"
methods = ["GET"]
path = "/api/v1/whoami"
authenticated = true

[[rules]]
name = "ws-echo"
path = "/api/v1/ws"
authenticated = true
"""


_STARTUP_POLLS = 3000  # x 10 ms: a slow first migration on a busy CI machine still fits


def _listen(port: int) -> socket.socket:
    try:
        return bind("127.0.0.1", port)
    except OSError:
        return bind("127.0.0.1", 0)  # the preferred port is taken: any free one will do


@dataclass
class _Served:
    server: uvicorn.Server
    thread: threading.Thread
    sock: socket.socket

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"


@dataclass
class DemoStack:
    """Start with :meth:`start`, stop with :meth:`stop` (graceful: in-flight requests finish)."""

    workdir: Path
    base_port: int = 9000
    idp: IdP = field(default_factory=lambda: IdP(IdPConfig.default()))
    bootstrap_token: str = field(default_factory=lambda: "agb_" + secrets.token_urlsafe(32))
    gateway: GatewayComponents | None = None
    _served: list[_Served] = field(default_factory=list)

    def _port(self, offset: int) -> int:
        return 0 if self.base_port == 0 else self.base_port + offset

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> _Served:
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        served = _Served(server, thread, sock)
        self._served.append(served)
        return served

    def _asgi(self, app: ASGIApp, sock: socket.socket) -> _Served:
        config = uvicorn.Config(app, log_level="warning", lifespan="on", log_config=None)
        served = self._run(uvicorn.Server(config), sock)
        # Startup hooks migrate the token store with alembic, whose context is process-global:
        # the next server starts only once this one is up (or has failed, which stops the demo).
        waited = threading.Event()
        for _ in range(_STARTUP_POLLS):
            if served.server.started or not served.thread.is_alive():
                break
            waited.wait(0.01)
        if not served.server.started:
            raise RuntimeError(f"server on {served.url} did not start (see the log above)")
        return served

    @property
    def issuer(self) -> str:
        return self.idp.server("default").issuer

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        idp_sock = _listen(self._port(0))
        self.idp_url = self._run(make_server(self.idp, idp_sock), idp_sock).url
        self.upstream_url = self._asgi(create_upstream(), _listen(self._port(1))).url
        self.dpop_key_file = self.workdir / "demo-dpop.jwk.json"
        self._secret_file(
            self.dpop_key_file, orjson.dumps(self.idp.client_private_jwk("demo-dpop"))
        )
        self.sample_file = self.workdir / "sample.bin"
        self.sample_file.write_bytes(b"authgate demo upload\n" * 4096)
        policy = self.workdir / "policy.toml"
        policy.write_text(POLICY)
        gw_sock, ex_sock = _listen(self._port(2)), _listen(self._port(3))
        self.gateway = self._components("gateway", gw_sock, policy)
        self.gateway_url = self._asgi(create_app(self.gateway), gw_sock).url
        exchanging = self._components("exchange", ex_sock, policy)
        self._add_exchange(exchanging)
        self.exchange_url = self._asgi(create_app(exchanging), ex_sock).url

    @staticmethod
    def _secret_file(path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)

    def _components(self, name: str, sock: socket.socket, policy: Path) -> GatewayComponents:
        config = self.workdir / f"{name}.toml"
        port = sock.getsockname()[1]
        config.write_text(
            f'[[issuers]]\nissuer = "{self.issuer}"\naudiences = ["api://default"]\n\n'
            f'[gateway]\nlisten = "127.0.0.1:{port}"\nupstream = "{self.upstream_url}"\n'
            f'policy_file = "{policy}"\naccess_log = false\npolicy_watch = false\n'
        )
        tokens = TokenSettings.load(
            token_store_path=self.workdir / f"{name}-tokens.db",
            bootstrap_token=self.bootstrap_token,
            limiter_ip_limit=1000,
            limiter_identity_limit=1000,
        )
        gateway = load_gateway_settings(config)
        return build_components(gateway, load_settings(config), tokens)

    def _add_exchange(self, components: GatewayComponents) -> None:
        app = self.idp.app("demo-exchange")
        if app is None or app.client_secret is None:
            raise RuntimeError("the dev IdP config lacks demo-exchange")
        client = OktaTokenClient(
            issuer=self.issuer, client_id=app.client_id, client_secret=app.client_secret
        )
        components.exchange = UpstreamTokenExchange(client, audience="api://default")
        components.shutdown.append(client.aclose)

    def stop(self) -> None:
        for served in reversed(self._served):
            served.server.should_exit = True
        for served in reversed(self._served):
            served.thread.join(timeout=15)
            served.sock.close()
        self._served.clear()
