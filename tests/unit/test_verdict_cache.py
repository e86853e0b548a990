"""Verdict cache: bounded, never past exp, keyed by a digest."""

from __future__ import annotations

from authgate.clock import ManualClock
from authgate.jose.verdict_cache import VerdictCache
from authgate.principal import Principal, PrincipalKind

P = Principal(subject="s", kind=PrincipalKind.USER)


def test_hit_until_exp_then_miss() -> None:
    clock = ManualClock()
    cache = VerdictCache(10, clock=clock)
    key = cache.key("tok")
    cache.put(key, P, expires_at=clock.time() + 10)
    assert cache.get(key) is P
    clock.advance(9.9)
    assert cache.get(key) is P
    clock.advance(0.1)
    assert cache.get(key) is None
    assert len(cache) == 0
    assert (cache.hits, cache.misses) == (2, 1)


def test_already_expired_is_not_cached() -> None:
    clock = ManualClock()
    cache = VerdictCache(10, clock=clock)
    cache.put(cache.key("t"), P, expires_at=clock.time() - 1)
    assert len(cache) == 0


def test_lru_bound() -> None:
    clock = ManualClock()
    cache = VerdictCache(2, clock=clock)
    keys = [cache.key(str(i)) for i in range(3)]
    cache.put(keys[0], P, expires_at=None)
    cache.put(keys[1], P, expires_at=None)
    assert cache.get(keys[0]) is P  # 0 becomes most recent
    cache.put(keys[2], P, expires_at=None)
    assert cache.get(keys[1]) is None
    assert cache.get(keys[0]) is P
    assert len(cache) == 2


def test_max_ttl_caps_tokens_without_exp() -> None:
    clock = ManualClock()
    cache = VerdictCache(10, max_ttl=5, clock=clock)
    key = cache.key("t")
    cache.put(key, P, expires_at=None)
    clock.advance(5)
    assert cache.get(key) is None


def test_key_is_a_digest_not_the_token() -> None:
    assert b"secret-token" not in VerdictCache.key("secret-token")
    assert len(VerdictCache.key("x")) == 32


def test_size_zero_disables() -> None:
    cache = VerdictCache(0)
    cache.put(cache.key("t"), P, expires_at=None)
    assert len(cache) == 0
