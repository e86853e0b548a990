"""Failure limiter: the same sliding-window suite on the in-process and the Redis backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from authgate.authn.base import Credential
from authgate.clock import ManualClock
from authgate.errors import AuthError, ErrorCode
from authgate.limits.base import FailureLimiter, GuardedAuthenticator, LimitConfig
from authgate.limits.memory import MemoryFailureLimiter
from authgate.limits.redis import RedisFailureLimiter
from authgate.principal import Principal, PrincipalKind
from authgate.service_tokens.format import generate_token

pytestmark = pytest.mark.anyio
Factory = Callable[[LimitConfig], FailureLimiter]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["memory", "redis"])
async def make(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[Factory]:
    made: list[FailureLimiter] = []
    prefix = f"test:{uuid.uuid4().hex}:"  # parallel workers never share keys

    def factory(config: LimitConfig) -> FailureLimiter:
        limiter: FailureLimiter
        if request.param == "memory":
            limiter = MemoryFailureLimiter(config, clock=clock)
        else:
            url: str = request.getfixturevalue("redis_url")
            limiter = RedisFailureLimiter(config, url, clock=clock, prefix=prefix)
        made.append(limiter)
        return limiter

    yield factory
    for limiter in made:
        await limiter.aclose()


async def blocked(limiter: FailureLimiter, ip: str | None, identity: str | None) -> AuthError:
    with pytest.raises(AuthError) as info:
        await limiter.check(ip=ip, identity=identity)
    return info.value


async def test_identity_limit_blocks_with_exact_retry_after(
    make: Factory, clock: ManualClock
) -> None:
    limiter = make(LimitConfig(ip_limit=0, identity_limit=3, interval=60))
    for step in range(3):
        await limiter.check(ip="192.0.2.1", identity="svc")
        await limiter.record_failure(ip="192.0.2.1", identity="svc")
        clock.advance(10 if step < 2 else 5)
    # failures at t=0, 10, 20; now t=25 → the oldest leaves the window at t=60
    err = await blocked(limiter, "192.0.2.1", "svc")
    assert err.code is ErrorCode.RATE_LIMITED_IDENTITY
    assert err.status == 429
    assert err.retry_after == pytest.approx(35.0)
    await limiter.check(ip="192.0.2.1", identity="someone-else")
    clock.advance(34.9)
    assert (await blocked(limiter, None, "svc")).retry_after == pytest.approx(0.1)
    clock.advance(0.1)
    await limiter.check(ip=None, identity="svc")


async def test_ip_limit_is_checked_first_and_window_slides(
    make: Factory, clock: ManualClock
) -> None:
    limiter = make(LimitConfig(ip_limit=2, identity_limit=2, interval=10))
    await limiter.record_failure(ip="198.51.100.7", identity="a")
    clock.advance(4)
    await limiter.record_failure(ip="198.51.100.7", identity="b")
    err = await blocked(limiter, "198.51.100.7", "a")
    assert err.code is ErrorCode.RATE_LIMITED_IP
    assert err.retry_after == pytest.approx(6.0)
    await limiter.check(ip="198.51.100.8", identity="a")
    clock.advance(6)
    await limiter.check(ip="198.51.100.7", identity="a")
    await limiter.record_failure(ip="198.51.100.7", identity="c")
    assert (await blocked(limiter, "198.51.100.7", None)).retry_after == pytest.approx(4.0)


@pytest.mark.parametrize(
    "config",
    [
        LimitConfig(ip_limit=0, identity_limit=0, interval=60),
        LimitConfig(ip_limit=1, identity_limit=1, interval=0),
    ],
)
async def test_zero_disables(make: Factory, config: LimitConfig) -> None:
    limiter = make(config)
    for _ in range(5):
        await limiter.record_failure(ip="192.0.2.9", identity="x")
    await limiter.check(ip="192.0.2.9", identity="x")


async def test_many_failures_keep_retry_after_exact(make: Factory, clock: ManualClock) -> None:
    limiter = make(LimitConfig(ip_limit=0, identity_limit=2, interval=30))
    for _ in range(10):
        await limiter.record_failure(ip=None, identity="flood")
        clock.advance(1)
    # newest two at t=8 and t=9; now t=10 → unblocked when t=8 leaves at t=38
    assert (await blocked(limiter, None, "flood")).retry_after == pytest.approx(28.0)


async def test_redis_counts_are_shared_between_instances(
    redis_url: str, clock: ManualClock
) -> None:
    config = LimitConfig(ip_limit=3, identity_limit=0, interval=60)
    prefix = f"test:{uuid.uuid4().hex}:"
    a = RedisFailureLimiter(config, redis_url, clock=clock, prefix=prefix)
    b = RedisFailureLimiter(config, redis_url, clock=clock, prefix=prefix)
    try:
        await a.record_failure(ip="203.0.113.5", identity=None)
        await b.record_failure(ip="203.0.113.5", identity=None)
        await a.check(ip="203.0.113.5", identity=None)
        await b.record_failure(ip="203.0.113.5", identity=None)
        assert (await blocked(a, "203.0.113.5", None)).code is ErrorCode.RATE_LIMITED_IP
        keys = await a.client.keys(prefix + "*")
        assert keys
        ttls = [await a.client.pttl(k) for k in keys]
        assert all(0 < ttl <= 60_000 for ttl in ttls)
    finally:
        await a.aclose()
        await b.aclose()


class Flaky:
    """Accepts one known token, refuses everything else as the real authenticators do."""

    async def authenticate(self, credential: Credential) -> Principal | None:
        if credential.token == "good":
            return Principal(subject="ok", kind=PrincipalKind.SERVICE)
        if credential.token.startswith("boom"):
            raise AuthError(ErrorCode.JWKS_UNAVAILABLE, "issuer down")
        raise AuthError(ErrorCode.INVALID_SERVICE_TOKEN, "bad", extra={"subject": "alice"})


async def test_guard_counts_refusals_then_answers_429(make: Factory) -> None:
    limiter = make(LimitConfig(ip_limit=5, identity_limit=2, interval=60))
    guard = GuardedAuthenticator(Flaky(), limiter)
    token = generate_token("svc")
    for _ in range(2):
        with pytest.raises(AuthError) as info:
            await guard.authenticate(Credential(token, client_ip="192.0.2.50"))
        assert info.value.code is ErrorCode.INVALID_SERVICE_TOKEN
    with pytest.raises(AuthError) as info:
        await guard.authenticate(Credential(token, client_ip="192.0.2.51"))
    assert info.value.code is ErrorCode.RATE_LIMITED_IDENTITY
    assert info.value.to_dict()["retry_after"] == pytest.approx(60.0)
    for _ in range(3):  # 5xx is our fault: never counted against the caller
        with pytest.raises(AuthError):
            await guard.authenticate(Credential("boom", client_ip="192.0.2.60"))
    assert await guard.authenticate(Credential("good", client_ip="192.0.2.60")) is not None
    for _ in range(2):  # identity from the error's subject when the token names none
        with pytest.raises(AuthError):
            await guard.authenticate(Credential("opaque", client_ip="192.0.2.70"))
    with pytest.raises(AuthError) as info:
        await limiter.check(ip=None, identity="alice")
    assert info.value.code is ErrorCode.RATE_LIMITED_IDENTITY


async def test_memory_limiter_bounds_its_keys(clock: ManualClock) -> None:
    limiter = MemoryFailureLimiter(
        LimitConfig(ip_limit=1, identity_limit=0), clock=clock, max_keys=3
    )
    for n in range(10):
        await limiter.record_failure(ip=f"10.0.0.{n}", identity=None)
    assert len(limiter._hits) == 3
    await limiter.check(ip="10.0.0.0", identity=None)  # evicted: forgotten, not blocked
    with pytest.raises(AuthError):
        await limiter.check(ip="10.0.0.9", identity=None)
