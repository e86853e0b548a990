"""Two instances share exchanged tokens through Redis (keys are hashes, values token responses)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis
from tests.okta.conftest import token_requests
from tests.support.idp_server import ServedIdP

from authgate.clock import ManualClock
from authgate.okta.auth import PasswordAuth
from authgate.okta.token_cache import RedisTokenStore, TokenCache
from authgate.okta.token_client import EXCHANGE_GRANT, OktaTokenClient

pytestmark = pytest.mark.services


@pytest.mark.anyio
async def test_instances_share_exchanged_tokens(
    served: ServedIdP,
    make_client: Callable[..., OktaTokenClient],
    clock: ManualClock,
    redis_url: str,
) -> None:
    redis = aioredis.from_url(redis_url)
    prefix = f"authgate-test:{uuid.uuid4().hex}:"
    try:
        subject = (
            PasswordAuth(
                make_client("demo-native"),
                "alice@example.com",
                "Alice-DEV-only-1",
                scopes=("openid", "api:read"),
            )
            .token()
            .access_token
        )
        one = make_client(
            "demo-exchange",
            cache=TokenCache(clock=clock, store=RedisTokenStore(redis, prefix=prefix)),
        )
        two = make_client(
            "demo-exchange",
            cache=TokenCache(clock=clock, store=RedisTokenStore(redis, prefix=prefix)),
        )
        first = await one.aexchange(subject, audience="api://default", scopes=["api:read"])
        second = await two.aexchange(subject, audience="api://default", scopes=["api:read"])
        assert second.access_token == first.access_token
        assert token_requests(served, EXCHANGE_GRANT) == 1
        keys = [k.decode() async for k in redis.scan_iter(prefix + "*")]
        assert len(keys) == 1
        assert subject not in keys[0]
        assert len(keys[0]) == len(prefix) + 64
        ttl = await redis.ttl(keys[0])
        assert 3200 <= ttl <= 3300  # expires with the freshness window (3600 − 300 s)
        clock.advance(3301)
        third = await two.aexchange(subject, audience="api://default", scopes=["api:read"])
        assert third.access_token != first.access_token
        assert token_requests(served, EXCHANGE_GRANT) == 2
        await one.aclose()
        await two.aclose()
    finally:
        async for key in redis.scan_iter(prefix + "*"):
            await redis.delete(key)
        await redis.aclose()


@pytest.mark.anyio
async def test_corrupt_redis_entry_is_a_miss(
    served: ServedIdP,
    make_client: Callable[..., OktaTokenClient],
    clock: ManualClock,
    redis_url: str,
) -> None:
    redis = aioredis.from_url(redis_url)
    prefix = f"authgate-test:{uuid.uuid4().hex}:"
    try:
        client = make_client(
            "demo-service",
            cache=TokenCache(clock=clock, store=RedisTokenStore(redis, prefix=prefix)),
        )
        await redis.set(
            prefix + client.key("client_credentials", ["api:read"]).digest(), b"{not json"
        )
        assert (await client.aclient_credentials(["api:read"])).access_token
        assert token_requests(served) == 1
        await client.aclose()
    finally:
        async for key in redis.scan_iter(prefix + "*"):
            await redis.delete(key)
        await redis.aclose()
