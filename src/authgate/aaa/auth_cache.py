"""Auth cache keyed by HMAC-SHA256(server key, username ‖ password) (RFC 2104), memory or Redis.

Why: a device re-authenticates the same operator many times a minute, and Okta rate-limits.
The key is a MAC under a server secret from settings, so it is stable across restarts and
shared instances (Redis) yet useless without the secret; the value is only the outcome and
safe attributes (groups, privilege) — never the password. Results that involved a one-time
code are never stored (the service checks ``AuthResult.cacheable``), so an OTP cannot be replayed.

An entry is *fresh* for ``ttl`` (answers instead of Okta) and *stale* for ``stale_ttl`` more,
when it only answers while the Okta circuit is open and the breaker policy is ``cache``.
"""

from __future__ import annotations

import hmac
import struct
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from authgate.aaa.keyed_hash import KeyedHash
from authgate.clock import Clock, system_clock

__all__ = ["AuthCache", "CachedAuth", "MemoryAuthCache", "RedisAuthCache", "cache_key"]


def cache_key(server_key: bytes, username: str, password: str) -> str:
    """Length-prefixed so ("ab", "c") and ("a", "bc") never collide."""
    return hmac.digest(server_key, _cache_message(username, password), "sha256").hex()


def _cache_message(username: str, password: str) -> bytes:
    user = username.encode()
    return struct.pack("!I", len(user)) + user + password.encode()


@dataclass(frozen=True, slots=True)
class CachedAuth:
    username: str
    groups: frozenset[str]
    privilege: int | None
    fresh_until: float  # wall clock, so entries shared through Redis mean the same everywhere
    stale_until: float

    def to_json(self) -> bytes:
        data = {
            "u": self.username,
            "g": sorted(self.groups),
            "p": self.privilege,
            "f": self.fresh_until,
            "s": self.stale_until,
        }
        return orjson.dumps(data)

    @classmethod
    def from_json(cls, raw: bytes) -> CachedAuth | None:
        try:
            data = orjson.loads(raw)
            return cls(
                str(data["u"]),
                frozenset(str(g) for g in data["g"]),
                None if data["p"] is None else int(data["p"]),
                float(data["f"]),
                float(data["s"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None


class AuthCache(Protocol):
    async def get(
        self, username: str, password: str, *, allow_stale: bool
    ) -> CachedAuth | None: ...

    async def put(
        self,
        username: str,
        password: str,
        groups: frozenset[str],
        privilege: int | None,
        *,
        expires_hint: float | None = None,
    ) -> None: ...

    async def aclose(self) -> None: ...


class _Base:
    def __init__(self, server_key: bytes, *, ttl: float, stale_ttl: float, clock: Clock) -> None:
        if len(server_key) < 16:
            raise ValueError("the auth cache key must be at least 16 bytes")
        self.server_key, self.ttl, self.stale_ttl, self.clock = server_key, ttl, stale_ttl, clock
        self._mac = KeyedHash(server_key, "sha256")

    def key(self, username: str, password: str) -> str:
        """:func:`cache_key` with the key schedule precomputed (once per request on the hot path)."""
        return self._mac.digest(_cache_message(username, password)).hex()

    def _entry(
        self, username: str, groups: frozenset[str], privilege: int | None, hint: float | None
    ) -> CachedAuth:
        now = self.clock.time()
        fresh = now + self.ttl
        if hint is not None:  # a token ``exp`` may shorten the TTL, never lengthen it
            fresh = min(fresh, max(hint, now))
        return CachedAuth(username, groups, privilege, fresh, fresh + self.stale_ttl)

    def _usable(self, entry: CachedAuth | None, username: str, allow_stale: bool) -> bool:
        if entry is None or not hmac.compare_digest(entry.username, username):
            return False
        now = self.clock.time()
        return now < (entry.stale_until if allow_stale else entry.fresh_until)


class MemoryAuthCache(_Base):
    """In-process LRU with a size bound, so a password-spraying client cannot grow it."""

    def __init__(
        self,
        server_key: bytes,
        *,
        ttl: float = 300.0,
        stale_ttl: float = 3600.0,
        max_entries: int = 50_000,
        clock: Clock = system_clock,
    ) -> None:
        super().__init__(server_key, ttl=ttl, stale_ttl=stale_ttl, clock=clock)
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CachedAuth] = OrderedDict()

    async def get(self, username: str, password: str, *, allow_stale: bool) -> CachedAuth | None:
        return self.peek(username, password, allow_stale=allow_stale)

    def peek(self, username: str, password: str, *, allow_stale: bool = False) -> CachedAuth | None:
        """:meth:`get` without awaiting: lets a server answer a warm hit inline."""
        key = self.key(username, password)
        entry = self._entries.get(key)
        if not self._usable(entry, username, allow_stale):
            if entry is not None and self.clock.time() >= entry.stale_until:
                del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    async def put(
        self,
        username: str,
        password: str,
        groups: frozenset[str],
        privilege: int | None,
        *,
        expires_hint: float | None = None,
    ) -> None:
        key = self.key(username, password)
        self._entries[key] = self._entry(username, groups, privilege, expires_hint)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    async def aclose(self) -> None:
        self._entries.clear()


class RedisAuthCache(_Base):
    """Shared cache in Redis (``redis.asyncio``); entries expire server-side at ``stale_until``."""

    def __init__(
        self,
        redis: Any,
        server_key: bytes,
        *,
        ttl: float = 300.0,
        stale_ttl: float = 3600.0,
        prefix: str = "authgate:aaa:auth:",
        clock: Clock = system_clock,
    ) -> None:
        super().__init__(server_key, ttl=ttl, stale_ttl=stale_ttl, clock=clock)
        self.redis, self.prefix = redis, prefix

    async def get(self, username: str, password: str, *, allow_stale: bool) -> CachedAuth | None:
        raw = await self.redis.get(self.prefix + self.key(username, password))
        entry = CachedAuth.from_json(raw) if isinstance(raw, bytes) else None
        return entry if self._usable(entry, username, allow_stale) else None

    async def put(
        self,
        username: str,
        password: str,
        groups: frozenset[str],
        privilege: int | None,
        *,
        expires_hint: float | None = None,
    ) -> None:
        entry = self._entry(username, groups, privilege, expires_hint)
        lifetime = max(1, int(entry.stale_until - self.clock.time()) + 1)
        key = self.prefix + self.key(username, password)
        await self.redis.set(key, entry.to_json(), ex=lifetime)

    async def aclose(self) -> None:
        await self.redis.aclose()
