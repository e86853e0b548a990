"""Resilient ``httpx`` transport for every outbound Okta call: retries, limiter, circuit breaker.

Wraps a real transport (connection pooling lives there) so that token requests, discovery and
Management API calls all share one policy: exponential backoff with jitter that honours
``Retry-After`` / ``X-Rate-Limit-Reset``, an adaptive concurrency limiter fed by Okta's rate-limit
headers, and a circuit breaker that fails fast with ``okta.circuit_open``. All waiting goes
through an injectable :class:`Sleeper` and the :class:`~authgate.clock.Clock`, so tests move time
instead of sleeping. One class serves both ``httpx.Client`` and ``httpx.AsyncClient``.

A request may say it is safe to resend whatever happened with
``request.extensions["authgate.idempotent"] = True`` (default: by HTTP method).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from authgate.clock import Clock, system_clock
from authgate.okta.errors import unavailable
from authgate.okta.metrics import OktaMetrics, metrics_for
from authgate.okta.resilience import AdaptiveLimiter, CircuitBreaker, RetryPolicy

__all__ = [
    "IDEMPOTENT_EXTENSION",
    "RealSleeper",
    "ResilienceConfig",
    "ResilientTransport",
    "Sleeper",
    "make_async_client",
    "make_client",
]

log = logging.getLogger("authgate.okta.transport")
IDEMPOTENT_EXTENSION = "authgate.idempotent"


class Sleeper(Protocol):
    """How the transport waits; tests pass one that advances a ManualClock instead."""

    def sleep(self, seconds: float) -> None: ...

    async def asleep(self, seconds: float) -> None: ...


class RealSleeper:
    __slots__ = ()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True)
class ResilienceConfig:
    """Knobs of :class:`ResilientTransport` and of the clients built by :func:`make_client`."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    max_concurrency: int = 10
    max_connections: int = 50
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.read_timeout, connect=self.connect_timeout)


class ResilientTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Policy around ``inner`` (sync) and/or ``async_inner`` (async) transports."""

    def __init__(
        self,
        *,
        inner: httpx.BaseTransport | None = None,
        async_inner: httpx.AsyncBaseTransport | None = None,
        config: ResilienceConfig | None = None,
        clock: Clock = system_clock,
        sleeper: Sleeper | None = None,
        metrics: OktaMetrics | None = None,
        name: str = "okta",
    ) -> None:
        self.config = config or ResilienceConfig()
        limits = httpx.Limits(max_connections=self.config.max_connections)
        self._inner = inner
        self._async_inner = async_inner
        self._limits = limits
        self.clock = clock
        self.sleeper: Sleeper = sleeper or RealSleeper()
        self.metrics = metrics or metrics_for()
        self.name = name
        self.breaker = CircuitBreaker(
            clock, threshold=self.config.breaker_threshold, cooldown=self.config.breaker_cooldown
        )
        self.breaker.on_change = lambda state: self.metrics.circuit_open.labels(name).set(
            1 if state == "open" else 0
        )
        self.metrics.circuit_open.labels(name).set(0)
        self.limiter = AdaptiveLimiter(clock, max_concurrency=self.config.max_concurrency)

    # -- inner transports (made lazily: a sync-only user never opens an async pool) -----------
    @property
    def inner(self) -> httpx.BaseTransport:
        if self._inner is None:
            self._inner = httpx.HTTPTransport(limits=self._limits)
        return self._inner

    @property
    def async_inner(self) -> httpx.AsyncBaseTransport:
        if self._async_inner is None:
            self._async_inner = httpx.AsyncHTTPTransport(limits=self._limits)
        return self._async_inner

    def status(self) -> dict[str, object]:
        """Breaker and limiter state for health endpoints and metrics."""
        return {"name": self.name, "breaker": self.breaker.snapshot(), **self.limiter.snapshot()}

    # -- shared decisions ---------------------------------------------------------------------
    def _idempotent(self, request: httpx.Request) -> bool | None:
        value = request.extensions.get(IDEMPOTENT_EXTENSION)
        return bool(value) if value is not None else None

    def _judge(self, response: httpx.Response) -> None:
        self.limiter.observe(response)
        if response.status_code >= 500:
            self.breaker.failure()
        elif response.status_code < 400:
            self.breaker.success()
        else:
            self.breaker.release_probe()  # a 4xx says Okta is up but says nothing about health

    def _retry_wait(
        self, request: httpx.Request, attempt: int, response: httpx.Response
    ) -> float | None:
        policy = self.config.retry
        if attempt >= policy.retries:
            return None
        if not policy.retryable_status(
            request.method, response.status_code, self._idempotent(request)
        ):
            return None
        wait = policy.delay_for(attempt, response, self.clock.time())
        if wait > policy.max_wait:
            return None
        self.metrics.retries.labels(str(response.status_code)).inc()
        return wait

    def _error_wait(
        self, request: httpx.Request, attempt: int, exc: httpx.TransportError
    ) -> float | None:
        self.breaker.failure()
        policy = self.config.retry
        if attempt >= policy.retries or not policy.retryable_error(
            request.method, exc, self._idempotent(request)
        ):
            return None
        self.metrics.retries.labels(type(exc).__name__).inc()
        return policy.backoff(attempt)

    def _give_up(self, request: httpx.Request, exc: httpx.TransportError) -> Exception:
        log.warning("okta %s %s failed: %s", request.method, request.url.path, type(exc).__name__)
        return unavailable(
            f"{request.method} {request.url.host}{request.url.path}: {type(exc).__name__}"
        )

    # -- sync ----------------------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            self.breaker.before(self.name)
            if (pause := self.limiter.pause_left()) > 0:
                self.sleeper.sleep(pause)
            self.limiter.acquire_sync()
            try:
                response = self.inner.handle_request(request)
            except httpx.TransportError as exc:
                wait = self._error_wait(request, attempt, exc)
                if wait is None:
                    raise self._give_up(request, exc) from exc
            else:
                self._judge(response)
                wait = self._retry_wait(request, attempt, response)
                if wait is None:
                    return response
                response.close()
            finally:
                self.limiter.release()
            log.info(
                "okta %s %s: retry %d in %.2fs", request.method, request.url.path, attempt + 1, wait
            )
            self.sleeper.sleep(wait)
            attempt += 1

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()

    # -- async ---------------------------------------------------------------------------------
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            self.breaker.before(self.name)
            if (pause := self.limiter.pause_left()) > 0:
                await self.sleeper.asleep(pause)
            await self.limiter.acquire_async()
            try:
                response = await self.async_inner.handle_async_request(request)
            except httpx.TransportError as exc:
                wait = self._error_wait(request, attempt, exc)
                if wait is None:
                    raise self._give_up(request, exc) from exc
            else:
                self._judge(response)
                wait = self._retry_wait(request, attempt, response)
                if wait is None:
                    return response
                await response.aclose()
            finally:
                self.limiter.release()
            log.info(
                "okta %s %s: retry %d in %.2fs", request.method, request.url.path, attempt + 1, wait
            )
            await self.sleeper.asleep(wait)
            attempt += 1

    async def aclose(self) -> None:
        if self._async_inner is not None:
            await self._async_inner.aclose()


class _Borrowed(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A view of a shared transport whose close is a no-op (for short-lived helper clients)."""

    def __init__(self, transport: ResilientTransport) -> None:
        self.transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.transport.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.transport.handle_async_request(request)


def borrowed(transport: ResilientTransport) -> _Borrowed:
    """``transport`` for a client that will be closed while the transport lives on."""
    return _Borrowed(transport)


def make_client(transport: ResilientTransport, **kwargs: object) -> httpx.Client:
    """A sync client on ``transport`` with its timeouts; redirects are not followed."""
    return httpx.Client(
        transport=borrowed(transport),
        timeout=transport.config.timeout(),
        **kwargs,  # type: ignore[arg-type]
    )


def make_async_client(transport: ResilientTransport, **kwargs: object) -> httpx.AsyncClient:
    """An async client on ``transport`` with its timeouts; redirects are not followed."""
    return httpx.AsyncClient(
        transport=borrowed(transport),
        timeout=transport.config.timeout(),
        **kwargs,  # type: ignore[arg-type]
    )
