"""Redis failure limiter: the same sliding window, shared by every instance, atomic in Lua.

Each key is a sorted set of failure times (score = wall-clock seconds from the injected clock,
so instances agree and tests can move time). One script trims entries older than the window
and answers "seconds until unblocked" for the IP and identity keys in a single round trip;
another adds a failure and keeps only the newest ``limit`` entries, with a TTL of one window
so idle keys disappear. Scripts run atomically, so concurrent instances never race.
"""

from __future__ import annotations

import hashlib
import secrets

import redis.asyncio as aioredis

from authgate.clock import Clock, system_clock
from authgate.limits.base import LimitConfig, rate_limited

__all__ = ["RedisFailureLimiter"]

# KEYS: ip key, identity key. ARGV: now, interval, ip limit, identity limit (0 = skip).
# Returns seconds left per key as strings (Lua numbers would be truncated to integers).
_CHECK = """
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i = 1, 2 do
  local limit = tonumber(ARGV[2 + i])
  local left = 0
  if limit > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - interval)
    local count = redis.call('ZCARD', KEYS[i])
    if count >= limit then
      local edge = redis.call('ZRANGE', KEYS[i], count - limit, count - limit, 'WITHSCORES')
      left = tonumber(edge[2]) + interval - now
    end
  end
  out[i] = tostring(left)
end
return out
"""

# KEYS: ip key, identity key. ARGV: now, interval, ip limit, identity limit, unique member.
_HIT = """
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, 2 do
  local limit = tonumber(ARGV[2 + i])
  if limit > 0 then
    redis.call('ZADD', KEYS[i], now, ARGV[5])
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - interval)
    redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(limit + 1))
    redis.call('PEXPIRE', KEYS[i], math.ceil(interval * 1000))
  end
end
return 1
"""


def _part(value: str) -> str:
    # Keep keys short and free of separators whatever the caller sends as an identity.
    return (
        value
        if len(value) <= 96 and ":" not in value
        else hashlib.sha256(value.encode()).hexdigest()
    )


class RedisFailureLimiter:
    """Failure limiter on Redis (``redis://…``), shared across instances."""

    def __init__(
        self,
        config: LimitConfig,
        redis_url: str,
        *,
        clock: Clock = system_clock,
        prefix: str = "authgate:fail:",
    ) -> None:
        self.config = config
        self.clock = clock
        self.prefix = prefix
        self.client = aioredis.Redis.from_url(redis_url)
        self._check = self.client.register_script(_CHECK)
        self._hit = self.client.register_script(_HIT)

    def _args(self, ip: str | None, identity: str | None) -> tuple[list[str], list[float]]:
        cfg = self.config
        keys = [
            f"{self.prefix}ip:{_part(ip or '-')}",
            f"{self.prefix}id:{_part(identity or '-')}",
        ]
        limits = [
            cfg.ip_limit if cfg.ip_enabled(ip) else 0,
            cfg.identity_limit if cfg.identity_enabled(identity) else 0,
        ]
        return keys, [self.clock.time(), cfg.interval, *limits]

    async def check(self, *, ip: str | None, identity: str | None) -> None:
        keys, args = self._args(ip, identity)
        if not args[2] and not args[3]:
            return
        ip_left, id_left = (float(v) for v in await self._check(keys=keys, args=args))
        if ip_left > 0:
            raise rate_limited("ip", ip_left)
        if id_left > 0:
            raise rate_limited("identity", id_left)

    async def record_failure(self, *, ip: str | None, identity: str | None) -> None:
        keys, args = self._args(ip, identity)
        if not args[2] and not args[3]:
            return
        member = f"{args[0]!r}:{secrets.token_hex(6)}"  # same-instant failures must not merge
        await self._hit(keys=keys, args=[*args, member])

    async def aclose(self) -> None:
        await self.client.aclose()
