"""DPoP proof ``jti`` replay cache on Redis (RFC 9449 §11.1), shared by every gateway instance.

Why Redis: with several instances behind a load balancer, a proof replayed to a different
instance would pass an in-process cache. ``SET key 1 NX PX ttl`` is atomic, so exactly one
instance sees the first use. If Redis cannot answer, the proof is refused (fail closed):
accepting it would silently turn replay protection off.
"""

from __future__ import annotations

import hashlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = ["RedisReplayCache"]

_log = logging.getLogger("authgate.gateway.dpop")


class RedisReplayCache:
    """A :class:`~authgate.jose.dpop.ReplayCache` on Redis (``first_use`` is atomic)."""

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        client: aioredis.Redis | None = None,
        prefix: str = "authgate:dpop:",
    ) -> None:
        if client is None and redis_url is None:
            raise ValueError("give a redis_url or a client")
        self.client = client if client is not None else aioredis.Redis.from_url(redis_url or "")
        self._own = client is None
        self.prefix = prefix

    async def first_use(self, key: str, ttl: float) -> bool:
        # Hash the key: a jti is attacker-chosen text; the digest keeps keys short and inert.
        name = self.prefix + hashlib.sha256(key.encode()).hexdigest()[:32]
        try:
            created = await self.client.set(name, b"1", nx=True, px=max(1, int(ttl * 1000)))
        except RedisError as exc:
            _log.warning("DPoP replay cache unavailable, refusing the proof: %s", exc)
            return False
        return bool(created)

    async def aclose(self) -> None:
        if self._own:
            await self.client.aclose()
