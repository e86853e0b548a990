"""Verdict cache: a verified token's Principal, keyed by a hash of the token, until ``exp``.

Why: signature checks dominate the cost of a request; the same bearer token is presented many
times in its lifetime. Only successes are cached (a failure must be re-explained each time, and
caching it would let an attacker fill the cache), entries never outlive the token's ``exp``, the
size is bounded (LRU), and callers still run revocation and DPoP checks on a hit.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from time import time

from authgate.clock import Clock, system_clock
from authgate.principal import Principal

__all__ = ["VerdictCache"]


class VerdictCache:
    """Bounded LRU of ``sha256(token) → (Principal, not_after)``; thread- and task-safe."""

    __slots__ = ("_clock", "_entries", "_lock", "_max_ttl", "hits", "max_size", "misses")

    def __init__(
        self, max_size: int = 10_000, *, max_ttl: float = 3600.0, clock: Clock = system_clock
    ) -> None:
        self.max_size = max_size
        self._max_ttl = max_ttl
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[Principal, float, str | None]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(token: str) -> bytes:
        # A digest, not the token: the cache must not become a store of live bearer tokens.
        return hashlib.sha256(token.encode()).digest()

    def get(self, key: bytes) -> Principal | None:
        entry = self.get_entry(key)
        return entry[0] if entry is not None else None

    def get_entry(self, key: bytes) -> tuple[Principal, str | None] | None:
        """The cached Principal and the ``kid`` of the key that verified it, if still fresh."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        principal, not_after, kid = entry
        clock = self._clock  # system_clock.time() is a Python frame around time.time()
        if (time() if clock is system_clock else clock.time()) >= not_after:
            with self._lock:
                self._entries.pop(key, None)
            self.misses += 1
            return None
        self.hits += 1
        try:  # noqa: SIM105 - a bare try is cheaper than contextlib.suppress on the hot path
            self._entries.move_to_end(key)
        except KeyError:  # evicted by another thread between get and move: still a valid answer
            pass
        return principal, kid

    def put(
        self,
        key: bytes,
        principal: Principal,
        *,
        expires_at: float | None,
        kid: str | None = None,
    ) -> None:
        """Remember a success until ``expires_at`` (the token's ``exp``, or earlier); ``kid``
        lets the caller drop the verdict if the issuer withdraws that key."""
        if self.max_size <= 0:
            return
        now = self._clock.time()
        not_after = now + self._max_ttl
        if expires_at is not None:
            not_after = min(not_after, expires_at)
        if not_after <= now:
            return
        with self._lock:
            self._entries[key] = (principal, not_after, kid)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def discard(self, key: bytes) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
