"""In-process failure limiter (the default): a sliding window kept as the last N failure times.

Why only the newest ``limit`` timestamps per key: the caller is blocked exactly while the
``limit``-th newest failure is inside the window, so older ones never matter — memory per key
is bounded by the limit, and the number of keys by ``max_keys`` (oldest evicted first).
Single instance only; use the Redis limiter when several instances must share counts.
"""

from __future__ import annotations

from collections import deque

from authgate.clock import Clock, system_clock
from authgate.limits.base import LimitConfig, rate_limited

__all__ = ["MemoryFailureLimiter"]


class MemoryFailureLimiter:
    """Sliding-window failure counts in a dict of bounded deques (event-loop thread only)."""

    def __init__(
        self, config: LimitConfig, *, clock: Clock = system_clock, max_keys: int = 100_000
    ) -> None:
        self.config = config
        self.clock = clock
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def _retry_after(self, key: str, limit: int, now: float) -> float:
        times = self._hits.get(key)
        if times is None or len(times) < limit:
            return 0.0
        left = times[-limit] + self.config.interval - now
        if left <= 0 and times[-1] + self.config.interval <= now:
            del self._hits[key]  # fully aged out: reclaim the slot
        return max(left, 0.0)

    def _add(self, key: str, limit: int, now: float) -> None:
        times = self._hits.get(key)
        if times is None:
            while len(self._hits) >= self.max_keys:
                del self._hits[next(iter(self._hits))]
            times = self._hits[key] = deque(maxlen=limit)
        times.append(now)

    async def check(self, *, ip: str | None, identity: str | None) -> None:
        now = self.clock.monotonic()
        cfg = self.config
        if ip and cfg.ip_enabled(ip):
            left = self._retry_after("ip:" + ip, cfg.ip_limit, now)
            if left > 0:
                raise rate_limited("ip", left)
        if identity and cfg.identity_enabled(identity):
            left = self._retry_after("id:" + identity, cfg.identity_limit, now)
            if left > 0:
                raise rate_limited("identity", left)

    async def record_failure(self, *, ip: str | None, identity: str | None) -> None:
        now = self.clock.monotonic()
        if ip and self.config.ip_enabled(ip):
            self._add("ip:" + ip, self.config.ip_limit, now)
        if identity and self.config.identity_enabled(identity):
            self._add("id:" + identity, self.config.identity_limit, now)

    async def aclose(self) -> None:
        self._hits.clear()
