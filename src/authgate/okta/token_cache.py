"""Token cache with single-flight refresh (RFC 6749 §5.1 ``expires_in``) and an optional Redis tier.

Keyed by (issuer, client, grant, scopes, audience, sha256(subject token)), so an exchanged token
is reused only for the same user token and never crosses clients or audiences. A token is served
until ``expires_in − buffer`` (default 300 s, as teams configure today; tokens shorter than twice
the buffer are kept for half their life), capped by ``max_ttl``. When it is due, exactly one
caller per key fetches — 100 concurrent callers make one token request — while the others wait
for that result (async: one shared future per key and loop; sync: one lock per key).

With a Redis store, instances share tokens (exchanged ones especially): keys are hashes and
values are the token responses. NOTE: Redis then holds live bearer tokens — protect it like a
secret store (TLS, AUTH/ACL, no public exposure, no persistence to shared disks).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple, Protocol

import orjson

from authgate.clock import Clock, system_clock

__all__ = ["CacheKey", "RedisTokenStore", "TokenCache", "TokenResponse", "TokenStore"]


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """A successful token response (RFC 6749 §5.1, RFC 8693 §2.2.1); tokens hidden from repr."""

    access_token: str
    token_type: str
    expires_in: int
    obtained_at: float
    scope: str | None = None
    refresh_token: str | None = None
    id_token: str | None = None
    issued_token_type: str | None = None

    def __repr__(self) -> str:
        return (
            f"TokenResponse(token_type={self.token_type!r}, expires_in={self.expires_in}, "
            f"scope={self.scope!r}, refresh_token={'set' if self.refresh_token else None})"
        )

    @property
    def expires_at(self) -> float:
        return self.obtained_at + self.expires_in

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenResponse:
        return cls(
            access_token=str(data["access_token"]),
            token_type=str(data.get("token_type", "Bearer")),
            expires_in=int(data.get("expires_in", 0)),
            obtained_at=float(data["obtained_at"]),
            scope=data.get("scope"),
            refresh_token=data.get("refresh_token"),
            id_token=data.get("id_token"),
            issued_token_type=data.get("issued_token_type"),
        )


class CacheKey(NamedTuple):
    """What makes two token requests interchangeable; the subject token only as a hash."""

    issuer: str
    client_id: str
    grant: str
    scopes: tuple[str, ...]
    audience: str
    subject_hash: str

    @classmethod
    def make(
        cls,
        issuer: str,
        client_id: str,
        grant: str,
        scopes: Iterable[str] = (),
        audience: str | None = None,
        subject: str | None = None,
    ) -> CacheKey:
        digest = hashlib.sha256(subject.encode()).hexdigest() if subject else ""
        return cls(issuer, client_id, grant, tuple(sorted(set(scopes))), audience or "", digest)

    def digest(self) -> str:
        """A stable, non-reversible name for this key (the Redis key)."""
        return hashlib.sha256(orjson.dumps(list(self))).hexdigest()


class TokenStore(Protocol):
    """A shared second tier (Redis) behind the in-memory cache."""

    async def load(self, key: CacheKey) -> tuple[TokenResponse, float] | None: ...

    async def save(
        self, key: CacheKey, token: TokenResponse, fresh_until: float, now: float
    ) -> None: ...

    async def drop(self, key: CacheKey) -> None: ...


class RedisTokenStore:
    """Tokens in Redis under ``{prefix}{sha256(key)}``, expiring with their freshness window.

    Redis holds live tokens: protect it (TLS, ACL, private network) — see the module docstring.
    """

    def __init__(self, redis: Any, *, prefix: str = "authgate:okta:token:") -> None:
        self.redis = redis  # a redis.asyncio.Redis
        self.prefix = prefix

    async def load(self, key: CacheKey) -> tuple[TokenResponse, float] | None:
        raw = await self.redis.get(self.prefix + key.digest())
        if raw is None:
            return None
        try:
            data = orjson.loads(raw)
            return TokenResponse.from_dict(data["token"]), float(data["fresh_until"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None  # a corrupt entry is a miss, never an error

    async def save(
        self, key: CacheKey, token: TokenResponse, fresh_until: float, now: float
    ) -> None:
        ttl = int(fresh_until - now)
        if ttl < 1:
            return
        value = orjson.dumps({"token": token.to_dict(), "fresh_until": fresh_until})
        await self.redis.set(self.prefix + key.digest(), value, ex=ttl)

    async def drop(self, key: CacheKey) -> None:
        await self.redis.delete(self.prefix + key.digest())


class TokenCache:
    """In-memory LRU of token responses with single-flight fetching; optional shared store."""

    def __init__(
        self,
        *,
        buffer: float = 300.0,
        max_ttl: float | None = None,
        clock: Clock = system_clock,
        store: TokenStore | None = None,
        max_entries: int = 10_000,
    ) -> None:
        if buffer < 0 or (max_ttl is not None and max_ttl <= 0) or max_entries < 1:
            raise ValueError("buffer >= 0, max_ttl > 0, max_entries >= 1")
        self.buffer, self.max_ttl, self.clock, self.store = buffer, max_ttl, clock, store
        self.max_entries = max_entries
        self._entries: OrderedDict[CacheKey, tuple[TokenResponse, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._sync_flights: dict[CacheKey, threading.Lock] = {}
        self._async_flights: dict[tuple[int, CacheKey], asyncio.Future[TokenResponse]] = {}
        self.fetches = 0

    def fresh_until(self, token: TokenResponse) -> float:
        life = float(token.expires_in)
        keep = life - self.buffer if life > 2 * self.buffer else life / 2
        if self.max_ttl is not None:
            keep = min(keep, self.max_ttl)
        return token.obtained_at + max(keep, 0.0)

    # -- plain access -----------------------------------------------------------------------
    def peek(self, key: CacheKey) -> TokenResponse | None:
        """The cached token if still fresh (the hot path: one dict look-up, one clock read)."""
        entry = self._entries.get(key)
        if entry is not None and self.clock.time() < entry[1]:
            return entry[0]
        return None

    def put(self, key: CacheKey, token: TokenResponse) -> float:
        until = self.fresh_until(token)
        with self._lock:
            self._entries[key] = (token, until)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return until

    def invalidate(self, key: CacheKey, access_token: str | None = None) -> None:
        """Forget ``key`` — only if it still holds ``access_token`` when one is given, so a
        caller holding a stale token cannot throw away the fresh one another caller just got."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (
                access_token is None or entry[0].access_token == access_token
            ):
                del self._entries[key]

    async def ainvalidate(self, key: CacheKey, access_token: str | None = None) -> None:
        self.invalidate(key, access_token)
        if self.store is not None:
            await self.store.drop(key)

    # -- single flight ------------------------------------------------------------------------
    def get_or_fetch(self, key: CacheKey, fetch: Callable[[], TokenResponse]) -> TokenResponse:
        """Sync: the fresh cached token or one fetch per key (others wait on its lock)."""
        token = self.peek(key)
        if token is not None:
            return token
        with self._lock:
            flight = self._sync_flights.setdefault(key, threading.Lock())
        with flight:
            token = self.peek(key)  # the caller before us may have fetched it
            if token is None:
                self.fetches += 1
                token = fetch()
                self.put(key, token)
            return token

    async def aget_or_fetch(
        self, key: CacheKey, fetch: Callable[[], Awaitable[TokenResponse]]
    ) -> TokenResponse:
        """Async: the fresh cached token, the shared store's, or one fetch per key and loop."""
        token = self.peek(key)
        if token is not None:
            return token
        flight_key = (id(asyncio.get_running_loop()), key)
        running = self._async_flights.get(flight_key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[TokenResponse] = asyncio.get_running_loop().create_future()
        self._async_flights[flight_key] = future
        try:
            token = await self._fill(key, fetch)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: no "never retrieved" warning when nobody waits
            raise
        else:
            future.set_result(token)
            return token
        finally:
            del self._async_flights[flight_key]

    async def _fill(
        self, key: CacheKey, fetch: Callable[[], Awaitable[TokenResponse]]
    ) -> TokenResponse:
        now = self.clock.time()
        if self.store is not None:
            shared = await self.store.load(key)
            if shared is not None and now < shared[1]:
                self.put(key, shared[0])
                return shared[0]
        self.fetches += 1
        token = await fetch()
        until = self.put(key, token)
        if self.store is not None:
            await self.store.save(key, token, until, self.clock.time())
        return token
