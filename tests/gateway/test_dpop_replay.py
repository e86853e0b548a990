"""RedisReplayCache (RFC 9449 §11.1): first use wins across instances; Redis down fails closed."""

from __future__ import annotations

import secrets

import pytest

from authgate.gateway.dpop_replay import RedisReplayCache

pytestmark = [pytest.mark.anyio, pytest.mark.services]


async def test_first_use_is_shared_between_two_instances(redis_url: str) -> None:
    one, two = RedisReplayCache(redis_url), RedisReplayCache(redis_url)
    key = "jkt:" + secrets.token_hex(8)
    try:
        assert await one.first_use(key, 30) is True
        assert await two.first_use(key, 30) is False
        assert await one.first_use(key, 30) is False
        assert await two.first_use(key + "-other", 30) is True
    finally:
        await one.aclose()
        await two.aclose()


async def test_unreachable_redis_refuses_the_proof() -> None:
    cache = RedisReplayCache("redis://127.0.0.1:1/0")
    try:
        assert await cache.first_use("jkt:x", 30) is False
    finally:
        await cache.aclose()
