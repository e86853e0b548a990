"""Retry policy, adaptive concurrency limiter and circuit breaker for outbound Okta calls.

Sans-IO: these classes decide (retry or not, how long to wait, may a request start) and keep
state; :mod:`authgate.okta.transport` does the I/O and the sleeping. State is guarded by
``threading`` locks because one client may be used from threads and event loops at once.

Okta rate limits per minute and per concurrent request (okta-wire §5.5), answering every call with
``X-Rate-Limit-Limit/-Remaining/-Reset``; :class:`AdaptiveLimiter` lowers the number of requests
in flight as ``Remaining`` runs low and holds new requests until ``Reset`` when it reaches zero,
so a busy service slows down instead of collecting 429s.
"""

from __future__ import annotations

import asyncio
import functools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx

from authgate.clock import Clock
from authgate.errors import ErrorCode
from authgate.okta.errors import OktaError, server_wait

__all__ = [
    "AdaptiveLimiter",
    "BreakerState",
    "CircuitBreaker",
    "RetryPolicy",
    "server_wait",
]

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Errors raised before the request reached the server: safe to resend even a POST.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """When to retry and how long to wait (exponential backoff with full jitter, capped).

    Idempotent requests retry on 429, 500/502/503/504 and transport errors. A POST (the token
    endpoint) retries only on connect errors and 429/503: those are refused before Okta does
    any work, whereas after a 500 or a read timeout Okta may already have burnt the client
    assertion ``jti`` or rotated a refresh token, and resending the same body would turn a
    transient failure into a confusing ``invalid_client``/``invalid_grant``.
    """

    retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_wait: float = 60.0  # a server asking for longer than this is not retried: fail fast
    random: Callable[[], float] = random.random

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
        return float(ceiling * (0.5 + 0.5 * self.random()))

    def retryable_status(self, method: str, status: int, idempotent: bool | None) -> bool:
        safe = idempotent if idempotent is not None else method.upper() in IDEMPOTENT
        if safe:
            return status in (429, 500, 502, 503, 504)
        return status in (429, 503)

    def retryable_error(self, method: str, exc: Exception, idempotent: bool | None) -> bool:
        safe = idempotent if idempotent is not None else method.upper() in IDEMPOTENT
        if isinstance(exc, NOT_SENT):
            return True
        return safe and isinstance(exc, httpx.TransportError)

    def delay_for(self, attempt: int, response: httpx.Response | None, now: float) -> float:
        """The wait before retry ``attempt`` (0-based); the server's wish wins when it has one."""
        asked = server_wait(response, now) if response is not None else None
        if asked is not None:
            return asked + 0.1 * self.random()  # a little jitter so a fleet does not stampede
        return self.backoff(attempt)


BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Closed → (``threshold`` consecutive failures) → open for ``cooldown`` → one half-open probe.

    While open, calls fail at once with ``okta.circuit_open`` and the seconds left; after the
    cooldown the first caller becomes the probe and the others keep failing fast until the probe
    succeeds (closed) or fails (open again, new cooldown).
    """

    def __init__(self, clock: Clock, *, threshold: int = 5, cooldown: float = 30.0) -> None:
        if threshold < 1 or cooldown <= 0:
            raise ValueError("threshold must be >= 1 and cooldown > 0")
        self.clock, self.threshold, self.cooldown = clock, threshold, cooldown
        self._lock = threading.Lock()
        self.state: BreakerState = "closed"
        self.failures = 0
        self.opened_at: float | None = None
        self.times_opened = 0
        self._probing = False
        self.on_change: Callable[[BreakerState], None] | None = None

    def before(self, upstream: str) -> None:
        """Let a request start, or raise ``okta.circuit_open``."""
        with self._lock:
            if self.state == "closed":
                return
            now = self.clock.monotonic()
            left = (self.opened_at or now) + self.cooldown - now
            if self.state == "open" and left <= 0:
                self._set("half_open")
            if self.state == "half_open" and not self._probing:
                self._probing = True
                return
        raise OktaError(
            ErrorCode.OKTA_CIRCUIT_OPEN,
            f"circuit to {upstream} is open after {self.threshold} consecutive failures; "
            f"failing fast for {max(left, 0):.1f}s more",
            retry_after=max(left, 0.0),
            hint="Okta kept failing: check its status page and the network path to it",
        )

    def success(self) -> None:
        with self._lock:
            self.failures = 0
            self._probing = False
            if self.state != "closed":
                self._set("closed")

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            was_probe, self._probing = self._probing, False
            if was_probe or (self.state == "closed" and self.failures >= self.threshold):
                self.opened_at = self.clock.monotonic()
                self.times_opened += 1
                self._set("open")

    def release_probe(self) -> None:
        """The probe ended without a verdict (e.g. a 4xx): let the next caller probe."""
        with self._lock:
            self._probing = False

    def _set(self, state: BreakerState) -> None:
        self.state = state
        if self.on_change is not None:
            self.on_change(state)

    def snapshot(self) -> dict[str, object]:
        """State for health checks: state, consecutive failures, seconds until a probe."""
        with self._lock:
            left = None
            if self.state == "open" and self.opened_at is not None:
                left = max(0.0, self.opened_at + self.cooldown - self.clock.monotonic())
            return {
                "state": self.state,
                "failures": self.failures,
                "retry_in": left,
                "times_opened": self.times_opened,
            }


class AdaptiveLimiter:
    """At most ``max_concurrency`` requests in flight, fewer when Okta's budget runs low.

    ``observe`` reads the rate-limit headers of each answer: with ``Remaining`` under
    ``low_water`` × ``Limit`` the allowed concurrency drops to half the remaining budget (at
    least 1); at zero new requests wait until ``Reset``; when the budget recovers the limit
    climbs back one step per answer (additive increase, so one good answer does not undo it).
    """

    def __init__(self, clock: Clock, *, max_concurrency: int = 10, low_water: float = 0.1) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self.clock = clock
        self.max_concurrency = max_concurrency
        self.low_water = low_water
        self.limit = max_concurrency
        self.in_flight = 0
        self.paused_until = 0.0  # wall-clock time (Okta's reset is wall-clock)
        self._lock = threading.Lock()
        self._wakers: list[Callable[[], None]] = []

    def _admit(self) -> bool:
        if self.in_flight < self.limit:
            self.in_flight += 1
            return True
        return False

    def pause_left(self) -> float:
        return max(0.0, self.paused_until - self.clock.time())

    async def acquire_async(self) -> None:
        while True:
            loop = asyncio.get_running_loop()
            woken: asyncio.Future[None] = loop.create_future()
            with self._lock:
                if self._admit():
                    return
                self._wakers.append(functools.partial(_wake, loop, woken))
            await woken

    def acquire_sync(self) -> None:
        while True:
            event = threading.Event()
            with self._lock:
                if self._admit():
                    return
                self._wakers.append(event.set)
            event.wait()

    def release(self) -> None:
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)
            wakers, self._wakers = self._wakers, []
        for wake in wakers:  # all re-check: simpler than handing over a slot, and cancel-safe
            wake()

    def observe(self, response: httpx.Response) -> None:
        headers = response.headers
        try:
            limit = int(headers["x-rate-limit-limit"])
            remaining = int(headers["x-rate-limit-remaining"])
        except (KeyError, ValueError):
            return
        wait = server_wait(response, self.clock.time()) if remaining <= 0 else None
        with self._lock:
            if remaining <= 0 and wait is not None:
                self.paused_until = max(self.paused_until, self.clock.time() + wait)
            if limit > 0 and remaining < max(self.low_water * limit, self.max_concurrency):
                self.limit = max(1, min(self.limit, remaining // 2))
            elif self.limit < self.max_concurrency:
                self.limit += 1
            wakers, self._wakers = self._wakers, []
        for wake in wakers:
            wake()

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "limit": self.limit,
                "max_concurrency": self.max_concurrency,
                "in_flight": self.in_flight,
                "paused_for": self.pause_left(),
            }


def _wake(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
    loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
