"""Revocation fan-out: tell every instance within a second that a token was revoked.

Two mechanisms, so a lost message never leaves a revoked token usable for long:
Redis pub/sub pushes each revoked token id to every subscribed instance, which drops its cached
verdicts at once; and every cached verdict is re-checked against the database after
``recheck_interval`` — 1 s without a healthy subscription, longer (30 s) while one is up.
After a reconnect, subscribers are told to resync (drop everything), since messages published
while disconnected are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = ["RevocationFeed"]

_log = logging.getLogger("authgate.service_tokens.revocation")
DEFAULT_CHANNEL = "authgate:service-tokens:revoked"
RESYNC = ""  # callback argument meaning "forget every cached verdict"


class RevocationFeed:
    """Publishes and receives revoked token ids; local-only when no Redis URL is given."""

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        channel: str = DEFAULT_CHANNEL,
        recheck_interval: float = 1.0,
        fanout_recheck_interval: float = 30.0,
    ) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self._short = recheck_interval
        self._long = fanout_recheck_interval
        self._callbacks: list[Callable[[str], None]] = []
        self._client: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.received = 0

    @property
    def healthy(self) -> bool:
        """True while a Redis subscription is live (revocations arrive by push)."""
        return self._subscribed.is_set()

    @property
    def recheck_interval(self) -> float:
        """How long a cached verdict may be trusted before the database is asked again."""
        return self._long if self.healthy else self._short

    def subscribe(self, callback: Callable[[str], None]) -> None:
        """``callback(token_id)`` on every revocation; ``callback("")`` means resync all."""
        self._callbacks.append(callback)

    def _notify(self, token_id: str) -> None:
        for callback in self._callbacks:
            callback(token_id)

    async def publish(self, token_id: str) -> None:
        """Announce a revocation: locally at once, then to other instances through Redis."""
        self._notify(token_id)
        if self._client is None and self.redis_url is not None:
            self._client = aioredis.Redis.from_url(self.redis_url)  # publish-only use (CLI)
        if self._client is not None:
            try:
                await self._client.publish(self.channel, token_id)
            except RedisError as exc:  # the short recheck still bounds the delay
                _log.warning("revocation publish failed, relying on recheck: %s", exc)

    async def start(self, *, ready_timeout: float = 5.0) -> None:
        """Connect and wait (bounded) until subscribed; no-op without Redis."""
        if self.redis_url is None or self._task is not None:
            return
        self._client = aioredis.Redis.from_url(self.redis_url)
        self._task = asyncio.get_running_loop().create_task(self._listen(self._client))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), ready_timeout)

    async def _listen(self, client: aioredis.Redis) -> None:
        backoff = 0.1
        while True:
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                if backoff > 0.1:
                    self._notify(RESYNC)  # messages sent while we were away are lost
                self._subscribed.set()
                backoff = 0.1
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.received += 1
                        data = message["data"]
                        token_id = data.decode() if isinstance(data, bytes) else str(data)
                        if token_id:
                            self._notify(token_id)
            except (RedisError, OSError) as exc:
                _log.warning("revocation subscription lost, retrying: %s", exc)
            finally:
                self._subscribed.clear()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._subscribed.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
