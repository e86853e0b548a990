"""Precomputed-key HMAC (RFC 2104) equals ``hmac.digest`` for every key length and message."""

from __future__ import annotations

import hmac

from hypothesis import given
from hypothesis import strategies as st

from authgate.aaa.auth_cache import MemoryAuthCache, cache_key
from authgate.aaa.keyed_hash import KeyedHash, keyed_md5


@given(st.binary(max_size=200), st.binary(max_size=300), st.sampled_from(["md5", "sha256"]))
def test_keyed_hash_equals_hmac_digest(key: bytes, message: bytes, name: str) -> None:
    mac = KeyedHash(key, name)
    assert mac.digest(message) == hmac.digest(key, message, name)
    assert mac.digest(message) == mac.digest(message)  # the precomputed state is not consumed


def test_keyed_md5_is_per_secret() -> None:
    assert keyed_md5(b"secret-one").digest(b"m") == hmac.digest(b"secret-one", b"m", "md5")
    assert keyed_md5(b"secret-two").digest(b"m") == hmac.digest(b"secret-two", b"m", "md5")
    assert keyed_md5(b"secret-one") is keyed_md5(b"secret-one")


@given(st.text(max_size=40), st.text(max_size=40))
def test_cache_key_method_equals_cache_key(username: str, password: str) -> None:
    key = b"k" * 32
    assert MemoryAuthCache(key).key(username, password) == cache_key(key, username, password)
