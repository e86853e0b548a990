"""DPoPVerifier (RFC 9449 §4.3) edge cases found in review: non-ASCII claims, replay quota."""

from __future__ import annotations

import secrets

import pytest
from tests.support.tokens import NOW, ec_key, encode, sha256_b64

from authgate.authn.base import Credential
from authgate.clock import ManualClock
from authgate.errors import AuthError, ErrorCode
from authgate.integrations.starlette import request_url
from authgate.jose.dpop import DPoPVerifier, MemoryReplayCache, jwk_thumbprint
from authgate.principal import Principal, PrincipalKind

KEY = ec_key("dpop")
PUBLIC = {k: v for k, v in KEY.jwk.items() if k in ("kty", "crv", "x", "y")}
TOKEN = "access.token.value"
URL = "https://api.example.com/r"


def proof(**claims: object) -> str:
    body = {
        "jti": secrets.token_hex(8),
        "htm": "GET",
        "htu": URL,
        "iat": NOW,
        "ath": sha256_b64(TOKEN),
    }
    body.update(claims)
    return encode(KEY, body, header={"typ": "dpop+jwt", "alg": "ES256", "jwk": PUBLIC})


def bound() -> Principal:
    return Principal("s", PrincipalKind.USER, cnf={"jkt": jwk_thumbprint(PUBLIC)})


def cred(p: str) -> Credential:
    return Credential(TOKEN, "dpop", p, "GET", URL)


@pytest.mark.anyio
async def test_valid_proof_then_replay() -> None:
    verifier = DPoPVerifier(clock=ManualClock(NOW))
    p = proof()
    assert await verifier.check(cred(p), bound()) == jwk_thumbprint(PUBLIC)
    with pytest.raises(AuthError) as info:
        await verifier.check(cred(p), bound())
    assert info.value.code == ErrorCode.INVALID_DPOP_PROOF


@pytest.mark.anyio
@pytest.mark.parametrize("field", ["ath", "htu"])
async def test_non_ascii_claims_are_refused_not_500(field: str) -> None:
    verifier = DPoPVerifier(clock=ManualClock(NOW))
    with pytest.raises(AuthError) as info:
        await verifier.check(cred(proof(**{field: "é"})), bound())
    assert info.value.code == ErrorCode.INVALID_DPOP_PROOF


@pytest.mark.anyio
async def test_non_ascii_bound_jkt_is_a_mismatch_not_500() -> None:
    verifier = DPoPVerifier(clock=ManualClock(NOW))
    principal = Principal("s", PrincipalKind.USER, cnf={"jkt": "é"})
    with pytest.raises(AuthError) as info:
        await verifier.check(cred(proof()), principal)
    assert info.value.code == ErrorCode.DPOP_BINDING_MISMATCH


@pytest.mark.anyio
async def test_replay_quota_is_per_proof_key() -> None:
    clock = ManualClock(NOW)
    cache = MemoryReplayCache(clock, max_entries=100, per_key=3)
    assert all([await cache.first_use(f"flooder:{i}", 300) for i in range(3)])
    assert not await cache.first_use("flooder:x", 300)  # the flooder hits its own quota
    assert await cache.first_use("honest:1", 300)  # ...and nobody else is locked out
    clock.advance(301)
    assert await cache.first_use("flooder:y", 300)  # quota frees as entries expire


def test_request_url_prefers_public_origin() -> None:
    scope = {
        "type": "http",
        "scheme": "http",
        "path": "/r",
        "headers": [(b"host", b"evil.example")],
    }
    assert request_url(scope) == "http://evil.example/r"
    assert request_url(scope, "https://api.example.com") == "https://api.example.com/r"
