"""HTTP/1.1 client connection pool for the reverse proxy (RFC 9112 §9 persistent connections).

Why our own client, measured with ``python bench/gateway.py --clients`` (a bare proxy on
uvicorn pinned to one core, ``wrk -c32`` on the other, same hello upstream, a busy 2-vCPU VM):
httpx 372 rps at 1821 µs CPU per request (its pool serialises and collapses under
concurrency), aiohttp 4.2k rps at 133 µs, this pool 8.0k rps at 57 µs — about nginx's plain
proxy rate on the same run. It is an ``asyncio.Protocol`` feeding the C ``httptools`` response
parser (llhttp, installed with ``uvicorn[standard]``) that hands body chunks straight to the
caller with no per-request task, and it sees flow control directly: reading from the upstream
pauses while the client is slow, so a 300 MB download never sits in memory.

A connection is reused only when the whole exchange finished cleanly (request sent, response
complete, no ``Connection: close``), which rules out answering one request with the leftovers
of another.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import cast

import httptools

from authgate.clock import Clock, system_clock
from authgate.errors import AuthgateError, ErrorCode

__all__ = ["UpstreamConnection", "UpstreamError", "UpstreamPool"]

_READ_HIGH_WATER = 256 * 1024  # buffered response bytes before the upstream socket is paused
_NO_BODY_STATUSES = frozenset((204, 304))


class UpstreamError(AuthgateError):
    """The upstream could not be reached, went silent or answered badly (502/504)."""

    def __init__(self, code: ErrorCode, detail: str, *, before_response: bool = False) -> None:
        super().__init__(code, detail)
        # True when the upstream closed before sending one byte: safe to retry on a new
        # connection if the request had no body (a stale keep-alive connection).
        self.before_response = before_response


def _timeout(detail: str) -> UpstreamError:
    return UpstreamError(ErrorCode.GATEWAY_UPSTREAM_TIMEOUT, detail)


def _unavailable(detail: str, *, before_response: bool = False) -> UpstreamError:
    return UpstreamError(
        ErrorCode.GATEWAY_UPSTREAM_UNAVAILABLE, detail, before_response=before_response
    )


class UpstreamConnection(asyncio.Protocol):
    """One keep-alive connection to the upstream; one exchange at a time (no pipelining)."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.reused = False
        self.idle_since = 0.0
        self.write_paused = False
        self.drain_waiter: asyncio.Future[None] | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.begin(head_request=False)

    # -- exchange state ------------------------------------------------------------------
    def begin(self, *, head_request: bool) -> None:
        """Reset per-exchange state before a new request is written."""
        if getattr(self, "head_request", False):
            # llhttp cannot be told a response answered HEAD, so after one it still expects
            # the announced body; a fresh parser starts the next exchange cleanly.
            self.parser = httptools.HttpResponseParser(self)
        self.head_request = head_request
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.interim = False
        self.complete = False
        self.until_close = False
        self.keep_alive = False
        self.got_bytes = False
        self.request_sent = False
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.reading_paused = False
        self.error: UpstreamError | None = None

    @property
    def reusable(self) -> bool:
        return (
            self.complete
            and self.request_sent
            and self.keep_alive
            and not self.closed
            and self.error is None
        )

    # -- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, hence the cast
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(_unavailable(f"upstream answered something that is not HTTP/1.1: {exc}"))
            self.abort()

    def eof_received(self) -> bool:
        if self.head_done and not self.complete and self.until_close:
            self.complete = True  # RFC 9112 §6.3 rule 8: the body ends when the connection does
            self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        if not self.complete:
            self._fail(
                _unavailable(
                    "upstream closed the connection before the response was complete",
                    before_response=not self.got_bytes,
                )
            )
        waiter, self.drain_waiter = self.drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        waiter, self.drain_waiter = self.drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- httptools callbacks -------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self.interim = True  # 1xx is informational (RFC 9110 §15.2); wait for the final one
            self.headers = []
            return
        self.status = status
        self.keep_alive = self.parser.should_keep_alive()
        names = {name for name, _ in self.headers}
        self.until_close = (
            b"content-length" not in names
            and b"transfer-encoding" not in names
            and status not in _NO_BODY_STATUSES
            and not self.head_request
        )
        self.head_done = True
        if self.head_request:
            self.complete = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.head_request:
            return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _READ_HIGH_WATER and not self.reading_paused and self.transport:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.interim:
            self.interim = False
            return
        self.complete = True
        self._wake()

    # -- used by the proxy ---------------------------------------------------------------
    def write(self, data: bytes | list[bytes]) -> None:
        if self.closed or self.transport is None:
            raise self.error or _unavailable(
                "upstream closed the connection while the request was sent",
                before_response=not self.got_bytes,
            )
        if isinstance(data, list):
            self.transport.writelines(data)
        else:
            self.transport.write(data)

    async def drain(self) -> None:
        """Wait until the upstream socket takes more data (request body backpressure)."""
        if self.write_paused and not self.closed:
            waiter = self.drain_waiter = self.loop.create_future()
            what = "while taking the request body"
            timer = self.loop.call_later(self.pool.read_timeout, self._expire, waiter, what)
            try:
                await waiter
            finally:
                timer.cancel()

    async def read_head(self) -> tuple[int, list[tuple[bytes, bytes]]]:
        while not self.head_done:
            await self._wait("waiting for the response headers")
        return self.status, self.headers

    async def read_body(self) -> bytes:
        """The next piece of the response body; ``b""`` once it is complete."""
        while True:
            if self.chunks:
                data = self.chunks.popleft() if len(self.chunks) == 1 else b"".join(self.chunks)
                self.chunks.clear()
                self.buffered = 0
                if self.reading_paused and self.transport is not None and not self.closed:
                    self.reading_paused = False
                    self.transport.resume_reading()
                return data
            if self.complete:
                return b""
            await self._wait("while reading the response body")

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # -- internals -----------------------------------------------------------------------
    async def _wait(self, what: str) -> None:
        if self.error is not None:
            raise self.error
        waiter = self.waiter = self.loop.create_future()
        timer = self.loop.call_later(self.pool.read_timeout, self._expire, waiter, what)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None

    def _expire(self, waiter: asyncio.Future[None], what: str) -> None:
        if not waiter.done():
            self.error = _timeout(f"upstream stalled for {self.pool.read_timeout:g} s {what}")
            waiter.set_exception(self.error)

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: UpstreamError) -> None:
        if self.error is None:
            self.error = error
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(self.error)


class UpstreamPool:
    """Up to ``size`` connections to one upstream; idle ones are reused newest first."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        size: int = 100,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        idle_timeout: float = 4.0,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.host, self.port = host, port
        self.size = size
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        # below the usual server keep-alive timeouts (uvicorn 5 s, nginx 75 s), so we drop an
        # idle connection before the upstream does and rarely race its close
        self.idle_timeout = idle_timeout
        self.ssl_context = ssl_context
        self.clock = clock
        self.idle: deque[UpstreamConnection] = deque()
        self.live: set[UpstreamConnection] = set()
        self.connecting = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> UpstreamConnection:
        """A connection for one exchange: an idle one if it is still open, else a new one."""
        while True:
            now = self.clock.monotonic()
            while self.idle:
                conn = self.idle.pop()
                if conn.closed or now - conn.idle_since > self.idle_timeout:
                    conn.abort()
                    self.forget(conn)
                    continue
                conn.reused = True
                return conn
            if self.connecting + len(self.live) < self.size:
                return await self._connect()
            await self._wait_for_slot()

    def release(self, conn: UpstreamConnection) -> None:
        """Return a connection after an exchange; keep it only if it can carry another."""
        if conn.reusable:
            conn.idle_since = self.clock.monotonic()
            self.idle.append(conn)
            self._wake_one()
        else:
            conn.abort()
            self.forget(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        """Drop a closed connection from the books (idempotent)."""
        if conn in self.live:
            self.live.discard(conn)
            self._wake_one()
        if conn in self.idle:
            self.idle.remove(conn)

    def close(self) -> None:
        """Close every idle connection (at shutdown); busy ones close when released."""
        while self.idle:
            conn = self.idle.pop()
            conn.abort()
            self.forget(conn)

    async def _connect(self) -> UpstreamConnection:
        loop = asyncio.get_running_loop()
        self.connecting += 1
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: UpstreamConnection(self), self.host, self.port, ssl=self.ssl_context
                )
        except TimeoutError:
            raise _timeout(
                f"connecting to {self.host}:{self.port} took longer than {self.connect_timeout:g} s"
            ) from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise _unavailable(f"cannot connect to {self.host}:{self.port}: {reason}") from None
        finally:
            self.connecting -= 1
            self._wake_one()
        if conn.closed:
            raise _unavailable(f"{self.host}:{self.port} closed the connection at once")
        self.live.add(conn)
        return conn

    async def _wait_for_slot(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            async with asyncio.timeout(self.connect_timeout):
                await waiter
        except TimeoutError:
            raise _timeout(
                f"all {self.size} upstream connections stayed busy for {self.connect_timeout:g} s"
            ) from None
        finally:
            if waiter in self.waiters:
                self.waiters.remove(waiter)

    def _wake_one(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
