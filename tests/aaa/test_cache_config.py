"""Auth cache (HMAC keys, no passwords stored, TTL, bound, Redis), config validation, privilege rules."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from authgate.aaa.auth_cache import MemoryAuthCache, RedisAuthCache, cache_key
from authgate.aaa.backends.local import hash_password, verify_password
from authgate.aaa.config import load_config
from authgate.aaa.privilege import CommandPolicy, CommandRule, command_line
from authgate.clock import ManualClock
from authgate.errors import ConfigError

pytestmark = pytest.mark.anyio
KEY = b"k" * 32


def test_cache_key_is_hmac_and_length_prefixed() -> None:
    assert cache_key(KEY, "ab", "c") != cache_key(KEY, "a", "bc")
    assert cache_key(KEY, "alice", "pw") != cache_key(b"x" * 32, "alice", "pw")
    assert cache_key(KEY, "alice", "pw") == cache_key(KEY, "alice", "pw")  # stable across restarts
    assert "pw" not in cache_key(KEY, "alice", "pw")


async def test_memory_cache_fresh_stale_hint_and_bound() -> None:
    clock = ManualClock()
    cache = MemoryAuthCache(KEY, ttl=60, stale_ttl=100, max_entries=3, clock=clock)
    await cache.put("alice", "secret-pw", frozenset({"Network-Admins"}), 15)
    assert "secret-pw" not in repr(cache._entries)
    assert (await cache.get("alice", "secret-pw", allow_stale=False)) is not None
    assert await cache.get("alice", "other", allow_stale=False) is None
    clock.advance(61)
    assert await cache.get("alice", "secret-pw", allow_stale=False) is None
    assert await cache.get("alice", "secret-pw", allow_stale=True) is not None
    clock.advance(100)
    assert await cache.get("alice", "secret-pw", allow_stale=True) is None
    await cache.put("bob", "pw", frozenset(), 1, expires_hint=clock.time() + 5)  # exp shortens TTL
    clock.advance(6)
    assert await cache.get("bob", "pw", allow_stale=False) is None
    for i in range(10):
        await cache.put(f"user{i}", "pw", frozenset(), 1)
    assert len(cache) == 3


@pytest.mark.services
async def test_redis_cache_shared_and_holds_no_password(redis_url: str) -> None:
    clock = ManualClock(start=__import__("time").time())
    prefix = f"authgate:test:{id(clock)}:"
    one = RedisAuthCache(
        Redis.from_url(redis_url), KEY, ttl=60, stale_ttl=60, prefix=prefix, clock=clock
    )
    two = RedisAuthCache(
        Redis.from_url(redis_url), KEY, ttl=60, stale_ttl=60, prefix=prefix, clock=clock
    )
    try:
        await one.put("alice", "secret-pw", frozenset({"Operators"}), 7)
        hit = await two.get("alice", "secret-pw", allow_stale=False)  # another instance, same key
        assert hit is not None
        assert hit.privilege == 7
        assert hit.groups == frozenset({"Operators"})
        raw = await one.redis.get(prefix + cache_key(KEY, "alice", "secret-pw"))
        assert b"secret-pw" not in raw
        assert 0 < await one.redis.ttl(prefix + cache_key(KEY, "alice", "secret-pw")) <= 121
        assert await two.get("alice", "wrong", allow_stale=False) is None
    finally:
        await one.redis.delete(prefix + cache_key(KEY, "alice", "secret-pw"))
        await one.aclose()
        await two.aclose()


def test_password_hashes_verify() -> None:
    for scheme in ("scrypt", "pbkdf2_sha256"):
        encoded = hash_password("s3cret", scheme=scheme)
        assert encoded.startswith(scheme)
        assert "s3cret" not in encoded
        assert verify_password("s3cret", encoded)
        assert not verify_password("s3cret!", encoded)
    assert not verify_password("x", "md5$abc")
    assert not verify_password("x", "scrypt$not$numbers$1$AA==$AA==")


def test_config_errors_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"radius\.clients\.0"):
        load_config(
            data={
                "radius": {"clients": [{"cidr": "not-a-network", "secret": "x"}]},
                "backends": ["local"],
            }
        )
    with pytest.raises(ConfigError, match="okta"):
        load_config(data={"backends": ["okta"]})
    with pytest.raises(ConfigError, match="https"):
        load_config(data={"okta": {"org_url": "http://example.okta.com"}})
    config = load_config(
        data={
            "radius": {"clients": [{"cidr": "10.0.0.0/8", "secret_env": "AAA_TEST_SECRET"}]},
            "backends": ["local"],
        }
    )
    with pytest.raises(ConfigError, match="AAA_TEST_SECRET"):
        config.radius.clients[0].secret_bytes()
    monkeypatch.setenv("AAA_TEST_SECRET", "from-env")
    assert config.radius.clients[0].secret_bytes() == b"from-env"
    assert config.radius.clients[0].require_message_authenticator is True  # BlastRADIUS default


def test_config_file_yaml(tmp_path) -> None:
    path = tmp_path / "aaa.yaml"
    path.write_text(
        "backends: [local]\ncircuit_behaviour: cache\nreplies:\n  class: 'priv={privilege}'\n"
    )
    config = load_config(path)
    assert config.circuit_behaviour == "cache"
    assert config.replies.class_ == "priv={privilege}"
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_command_rules_first_match_default_deny() -> None:
    policy = CommandPolicy(
        [
            CommandRule(".*", 15),
            CommandRule("configure .*", 7, allow=False),
            CommandRule("show .*", 1),
        ]
    )
    assert policy.allows(15, "configure terminal")
    assert not policy.allows(7, "configure terminal")
    assert policy.allows(1, "SHOW   running-config")
    assert not policy.allows(0, "show version")
    assert not policy.allows(7, "reload")
    assert (
        command_line(["service=shell", "cmd=show", "cmd-arg=ip", "cmd-arg=route", "cmd-arg=<cr>"])
        == "show ip route"
    )
    assert command_line(["service=shell", "cmd="]) is None
    assert command_line(["service=shell", "cmd*show"]) == "show"
