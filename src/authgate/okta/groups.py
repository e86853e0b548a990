"""Group look-ups for authorization: a bounded TTL cache and the group → privilege map.

Network AAA asks "which groups is this user in" on every login; Okta's Management API is rate
limited, so answers are cached for ``ttl`` (default 1800 s) in a bounded LRU. Failures (unknown
user, 429, Okta down) are remembered for ``negative_ttl`` (default 60 s) — stretched to Okta's
``Retry-After`` on a 429 — and re-raised meanwhile, so a burst of logins does not hammer Okta.
Concurrent look-ups of one user share one request.

:class:`PrivilegeMap` turns group names into a privilege level (Cisco-style 0-15 or any int):
case-insensitive, the highest mapped level wins, optionally refusing users with no mapped group.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from authgate.clock import Clock, system_clock
from authgate.errors import AuthError, ErrorCode
from authgate.okta.errors import OktaError
from authgate.okta.metrics import OktaMetrics, metrics_for

__all__ = ["GroupCache", "PrivilegeMap"]


@dataclass(frozen=True, slots=True)
class _Entry:
    groups: tuple[str, ...] | None
    error: OktaError | None
    until: float


class GroupCache:
    """``user → group names`` with TTL, negative TTL, LRU bound and single-flight look-ups."""

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[Iterable[str]]],
        *,
        ttl: float = 1800.0,
        negative_ttl: float = 60.0,
        max_entries: int = 10_000,
        clock: Clock = system_clock,
        metrics: OktaMetrics | None = None,
    ) -> None:
        if ttl <= 0 or negative_ttl < 0 or max_entries < 1:
            raise ValueError("ttl > 0, negative_ttl >= 0, max_entries >= 1")
        self._fetch = fetch
        self.ttl, self.negative_ttl, self.max_entries = ttl, negative_ttl, max_entries
        self.clock = clock
        self.metrics = metrics or metrics_for()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._flights: dict[str, asyncio.Future[tuple[str, ...]]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _key(self, user: str) -> str:
        return user.casefold()  # Okta logins are case-insensitive

    def _lookup(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            self.metrics.group_cache_misses.labels("absent").inc()
            return None
        if self.clock.monotonic() >= entry.until:
            del self._entries[key]
            self.metrics.group_cache_misses.labels("expired").inc()
            return None
        self._entries.move_to_end(key)
        self.metrics.group_cache_hits.labels("negative" if entry.error else "positive").inc()
        return entry

    def _store(self, key: str, entry: _Entry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, user: str | None = None) -> None:
        if user is None:
            self._entries.clear()
        else:
            self._entries.pop(self._key(user), None)

    async def groups(self, user: str) -> tuple[str, ...]:
        """The user's group names (cached); re-raises a remembered failure."""
        key = self._key(user)
        entry = self._lookup(key)
        if entry is not None:
            if entry.error is not None:
                raise entry.error
            assert entry.groups is not None
            return entry.groups
        running = self._flights.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[tuple[str, ...]] = asyncio.get_running_loop().create_future()
        self._flights[key] = future
        try:
            names = await self._load(key, user)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        else:
            future.set_result(names)
            return names
        finally:
            del self._flights[key]

    async def _load(self, key: str, user: str) -> tuple[str, ...]:
        started = time.perf_counter()
        try:
            names = tuple(await self._fetch(user))
        except OktaError as exc:
            hold = self.negative_ttl
            if exc.code is ErrorCode.OKTA_RATE_LIMITED and exc.retry_after:
                hold = max(hold, exc.retry_after)
            self._store(key, _Entry(None, exc, self.clock.monotonic() + hold))
            self._observe(str(exc.code), started)
            raise
        self._store(key, _Entry(names, None, self.clock.monotonic() + self.ttl))
        self._observe("ok", started)
        return names

    def _observe(self, outcome: str, started: float) -> None:
        self.metrics.group_requests.labels(outcome).inc()
        self.metrics.group_latency.labels(outcome).observe(time.perf_counter() - started)


class PrivilegeMap:
    """Group name → privilege level; case-insensitive, highest wins.

    ``require_mapped``: a user in no mapped group is refused (``auth.privilege_too_low``)
    instead of getting ``default``.
    """

    def __init__(
        self,
        mapping: Mapping[str, int],
        *,
        default: int | None = None,
        require_mapped: bool = False,
    ) -> None:
        self._levels: dict[str, int] = {}
        for name, level in mapping.items():
            folded = name.casefold()
            self._levels[folded] = max(level, self._levels.get(folded, level))
        self.default, self.require_mapped = default, require_mapped

    def level(self, groups: Iterable[str]) -> int | None:
        """The highest level among ``groups``, ``default`` when none is mapped."""
        found = [self._levels[g.casefold()] for g in groups if g.casefold() in self._levels]
        if found:
            return max(found)
        if self.require_mapped:
            raise AuthError(
                ErrorCode.PRIVILEGE_TOO_LOW,
                "the user is in no group of group_privilege_map",
                status=403,
            )
        return self.default
