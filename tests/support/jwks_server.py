"""A real loopback HTTP server (uvicorn + Starlette in a thread) serving a JWKS and discovery docs.

Tests of key sources, verifiers and the gateway point real HTTP clients at it instead of patching
them. Each test controls what the next request gets — body, ``Cache-Control``, status, delay,
size — and reads back how many requests arrived, so cache behaviour is asserted on the wire::

    with JWKSServer() as srv:
        srv.set_keys([ec_jwk("k1")], cache_control="max-age=600")
        srv.delay = 0.5            # the next responses are held this long (server side)
        gate = srv.hold()          # ...or held until gate.set(), with no timing assumptions
        srv.fail_with(503)         # ...or answer 503 until fail_with(None)
        srv.fetch_count            # JWKS requests received so far

The response is chosen when a request ARRIVES (then the delay runs), so a slow response carries
the keys that were current when it was requested — what a real slow IdP does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

__all__ = ["JWKSServer", "ec_jwk"]

JWKS_PATH = "/jwks"


def _b64(n: int, size: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


def ec_jwk(kid: str, *, alg: str = "ES256") -> dict[str, Any]:
    """A fresh public P-256 JWK named ``kid`` (the private half is thrown away)."""
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "kid": kid,
        "use": "sig",
        "alg": alg,
        "x": _b64(numbers.x, 32),
        "y": _b64(numbers.y, 32),
    }


@dataclass(frozen=True)
class _Reply:
    body: bytes
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    chunked: bool = False


def _json_reply(doc: Any, cache_control: str | None) -> _Reply:
    headers = {"content-type": "application/json"}
    if cache_control is not None:
        headers["cache-control"] = cache_control
    return _Reply(json.dumps(doc).encode(), headers=headers)


class _Uvicorn(uvicorn.Server):
    """Signals the owning thread once the socket is bound, so nobody polls for readiness."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class JWKSServer:
    """Loopback IdP stand-in: ``/jwks`` plus any documents set with :meth:`set_document`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._replies: dict[str, _Reply] = {JWKS_PATH: _json_reply({"keys": []}, "max-age=300")}
        self._failure: int | None = None
        self._gate: threading.Event | None = None
        self._gates: list[threading.Event] = []
        self._received: Counter[str] = Counter()
        self._served: Counter[str] = Counter()
        self.delay = 0.0
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            ws="none",
            interface="asgi3",
        )
        self._server = _Uvicorn(config)
        self._thread = threading.Thread(target=self._server.run, name="jwks-server", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> JWKSServer:
        self._thread.start()
        if not self._server.ready.wait(10):
            raise RuntimeError("JWKS test server did not start within 10 s")
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        for gate in self._gates:
            gate.set()
        if self._loop is not None and self._closing is not None:
            self._loop.call_soon_threadsafe(self._closing.set)  # cut deliberate delays short
        self._server.should_exit = True
        self._thread.join(10)

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>`` (no trailing slash)."""
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH

    # -- what the next request gets -------------------------------------------------------------
    def set_keys(
        self, keys: Sequence[Mapping[str, Any]], *, cache_control: str | None = "max-age=300"
    ) -> None:
        """Serve ``{"keys": keys}`` at ``/jwks`` with this ``Cache-Control`` (None: no header)."""
        self.set_document(JWKS_PATH, {"keys": list(keys)}, cache_control=cache_control)

    def set_document(
        self, path: str, doc: Any, *, status: int = 200, cache_control: str | None = None
    ) -> None:
        """Serve ``doc`` as JSON at ``path`` (e.g. ``/.well-known/openid-configuration``)."""
        reply = replace(_json_reply(doc, cache_control), status=status)
        with self._lock:
            self._replies[path] = reply

    def set_body(
        self,
        body: bytes,
        *,
        path: str = JWKS_PATH,
        content_type: str = "application/json",
        chunked: bool = False,
    ) -> None:
        """Serve raw bytes; ``chunked`` streams them without a ``Content-Length``."""
        with self._lock:
            self._replies[path] = _Reply(
                body, headers={"content-type": content_type}, chunked=chunked
            )

    def hold(self) -> threading.Event:
        """Hold every response requested from now on until the returned gate is set.

        Deterministic where ``delay`` is not: "the lookup returned before the fetch completed"
        holds however slow the machine is. Held requests give up after 10 s.
        """
        gate = threading.Event()
        with self._lock:
            self._gate = gate
            self._gates.append(gate)
        return gate

    def stop_holding(self) -> None:
        """Requests from now on are not held (those already held wait for their gate)."""
        with self._lock:
            self._gate = None

    def fail_with(self, status: int | None) -> None:
        """Answer every request with this status (and a small JSON error) until called with None."""
        with self._lock:
            self._failure = status

    # -- what happened ----------------------------------------------------------------------------
    @property
    def fetch_count(self) -> int:
        """JWKS requests received (counted on arrival, before any delay)."""
        return self.received(JWKS_PATH)

    def received(self, path: str) -> int:
        with self._lock:
            return self._received[path]

    def wait_for_requests(self, count: int, path: str = JWKS_PATH, timeout: float = 5.0) -> bool:
        """Block until ``count`` requests for ``path`` have arrived (True) or ``timeout`` passes."""
        with self._arrived:
            return self._arrived.wait_for(lambda: self._received[path] >= count, timeout)

    def served(self, path: str = JWKS_PATH) -> int:
        """Responses fully handed to the server for ``path`` (after the delay)."""
        with self._lock:
            return self._served[path]

    # -- the ASGI app -------------------------------------------------------------------------------
    async def _app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self._closing is None:
            self._loop, self._closing = asyncio.get_running_loop(), asyncio.Event()
        request = Request(scope, receive)
        path = request.url.path
        with self._lock:
            self._received[path] += 1
            self._arrived.notify_all()
            reply = self._replies.get(path)
            failure, delay, gate = self._failure, self.delay, self._gate
        if failure is not None:
            reply = _Reply(b'{"error":"test_failure"}', status=failure)
        elif reply is None:
            reply = _Reply(b'{"error":"not_found"}', status=404)
        if gate is not None:
            await asyncio.to_thread(gate.wait, 10)
        if delay > 0:
            await self._hold(delay)
        response = self._response(reply)
        await response(scope, receive, send)
        with self._lock:
            self._served[path] += 1

    async def _hold(self, delay: float) -> None:
        assert self._closing is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), delay)

    @staticmethod
    def _response(reply: _Reply) -> Response:
        if not reply.chunked:
            return Response(reply.body, status_code=reply.status, headers=dict(reply.headers))

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(reply.body), 16 * 1024):
                yield reply.body[start : start + 16 * 1024]

        return StreamingResponse(chunks(), status_code=reply.status, headers=dict(reply.headers))
