"""TokenVerifier end to end: issuers, keys, claims, verdict cache, hooks, sync and async."""

from __future__ import annotations

import pytest
from tests.support.tokens import (
    AUDIENCE,
    ISSUER,
    NOW,
    SigningKey,
    ec_key,
    ed_key,
    encode,
    hs_key,
    jwks,
    okta_claims,
    rsa_key,
)

from authgate.clock import ManualClock
from authgate.errors import AuthError, ErrorCode
from authgate.jose.key_source import StaticKeys
from authgate.jose.keys import KeySet
from authgate.jose.verdict_cache import VerdictCache
from authgate.principal import ClaimMapping, Principal, PrincipalKind
from authgate.verifier import IssuerConfig, TokenVerifier

OTHER = "https://dev-123.okta.com/oauth2/aus9partner"


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {"RS256": rsa_key(), "ES256": ec_key(), "EdDSA": ed_key(), "HS256": hs_key()}


def verifier_for(
    *keys: SigningKey, clock: ManualClock, cache: bool = True, **kw: object
) -> TokenVerifier:
    source = StaticKeys(KeySet.from_jwks(jwks(*keys)), description="test")
    cfg = IssuerConfig(
        issuer=ISSUER,
        keys=source,
        audiences=(AUDIENCE,),
        algorithms=frozenset(k.alg for k in keys),
        **kw,  # type: ignore[arg-type]
    )
    return TokenVerifier(
        [cfg], verdict_cache=VerdictCache(100, clock=clock) if cache else None, clock=clock
    )


def code(fn: object) -> ErrorCode:
    with pytest.raises(AuthError) as info:
        fn()  # type: ignore[operator]
    return info.value.code


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA", "HS256"])
def test_each_family_verifies(keys: dict[str, SigningKey], alg: str) -> None:
    clock = ManualClock(NOW + 10)
    verifier = verifier_for(keys[alg], clock=clock)
    principal = verifier.verify(encode(keys[alg], okta_claims()))
    assert principal.subject == "alice@example.com"
    assert principal.kind is PrincipalKind.USER
    assert "api:read" in principal.scopes
    assert principal.issuer == ISSUER


@pytest.mark.anyio
async def test_averify_matches_verify(keys: dict[str, SigningKey]) -> None:
    clock = ManualClock(NOW + 10)
    verifier = verifier_for(keys["ES256"], clock=clock, cache=False)
    token = encode(keys["ES256"], okta_claims())
    assert await verifier.averify(token) == verifier.verify(token)


def test_issuer_must_match_exactly(keys: dict[str, SigningKey]) -> None:
    clock = ManualClock(NOW + 10)
    verifier = verifier_for(keys["RS256"], clock=clock)
    for iss in (ISSUER + "/", ISSUER.upper(), ISSUER[:-1], "https://evil.example" + ISSUER[8:]):
        token = encode(keys["RS256"], okta_claims(iss=iss))
        with pytest.raises(AuthError) as info:
            verifier.verify(token)
        assert info.value.code == ErrorCode.INVALID_ISSUER
        assert ISSUER in info.value.detail  # says which issuer is accepted


def test_multi_issuer_each_with_own_keys_and_audiences(keys: dict[str, SigningKey]) -> None:
    clock = ManualClock(NOW + 10)
    a, b = keys["RS256"], rsa_key("partner-1")
    verifier = TokenVerifier(
        [
            IssuerConfig(
                ISSUER, StaticKeys(KeySet.from_jwks(jwks(a)), description="a"), (AUDIENCE,)
            ),
            IssuerConfig(
                OTHER, StaticKeys(KeySet.from_jwks(jwks(b)), description="b"), ("api://partner",)
            ),
        ],
        clock=clock,
    )
    assert verifier.verify(encode(b, okta_claims(iss=OTHER, aud="api://partner"))).issuer == OTHER
    # a partner token signed with the default server's key: the kid is unknown to the partner set
    assert code(
        lambda: verifier.verify(encode(a, okta_claims(iss=OTHER, aud="api://partner")))
    ) == (ErrorCode.UNKNOWN_KEY)
    # right keys, wrong server's audience
    assert (
        code(lambda: verifier.verify(encode(b, okta_claims(iss=OTHER))))
        == ErrorCode.INVALID_AUDIENCE
    )


def test_verdict_cache_hit_and_expiry(keys: dict[str, SigningKey]) -> None:
    clock = ManualClock(NOW + 10)
    verifier = verifier_for(keys["HS256"], clock=clock)
    token = encode(keys["HS256"], okta_claims(exp=NOW + 100))
    first = verifier.verify(token)
    assert verifier.verify(token) is first  # served from the cache
    assert verifier.cache is not None
    assert verifier.cache.hits == 1
    clock.advance(90)  # now = exp: the cache entry is gone; the claims check applies leeway
    assert verifier.verify(token) is not first
    clock.advance(61)
    assert code(lambda: verifier.verify(token)) == ErrorCode.TOKEN_EXPIRED


def test_failures_are_not_cached(keys: dict[str, SigningKey]) -> None:
    clock = ManualClock(NOW + 10)
    verifier = verifier_for(keys["HS256"], clock=clock)
    token = encode(keys["HS256"], okta_claims(aud="api://other"))
    for _ in range(2):
        assert code(lambda: verifier.verify(token)) == ErrorCode.INVALID_AUDIENCE
    assert verifier.cache is not None
    assert len(verifier.cache) == 0


def test_hooks_run_on_cache_hits(keys: dict[str, SigningKey]) -> None:
    clock = ManualClock(NOW + 10)
    revoked: set[str] = set()

    def revocation(principal: Principal) -> None:
        if principal.token_id in revoked:
            raise AuthError(ErrorCode.TOKEN_REVOKED, "token revoked")

    verifier = verifier_for(keys["ES256"], clock=clock)
    verifier.hooks = (revocation,)
    claims = okta_claims()
    token = encode(keys["ES256"], claims)
    verifier.verify(token)
    revoked.add(claims["jti"])
    assert code(lambda: verifier.verify(token)) == ErrorCode.TOKEN_REVOKED


def test_required_scopes_and_claim_mapping(keys: dict[str, SigningKey]) -> None:
    clock = ManualClock(NOW + 10)
    verifier = verifier_for(
        keys["RS256"],
        clock=clock,
        required_scopes=("api:admin",),
        claims=ClaimMapping(default_role="User"),
    )
    with pytest.raises(AuthError) as info:
        verifier.verify(encode(keys["RS256"], okta_claims()))
    assert info.value.code == ErrorCode.INSUFFICIENT_SCOPE
    assert info.value.status == 403
    ok = verifier.verify(encode(keys["RS256"], okta_claims(scp=["api:admin"])))
    assert ok.roles == {"User"}


def test_empty_token_is_missing(keys: dict[str, SigningKey]) -> None:
    verifier = verifier_for(keys["RS256"], clock=ManualClock(NOW))
    assert code(lambda: verifier.verify("")) == ErrorCode.MISSING_TOKEN


def test_no_issuers_is_a_config_error() -> None:
    from authgate.errors import ConfigError

    with pytest.raises(ConfigError):
        TokenVerifier([])


def test_cached_verdict_ends_with_max_age(keys: dict[str, SigningKey]) -> None:
    """Review finding: the cache used to serve a token past ``max_age`` until its ``exp``."""
    clock = ManualClock(NOW + 10)
    verifier = verifier_for(keys["HS256"], clock=clock, max_age=300)
    token = encode(keys["HS256"], okta_claims(exp=NOW + 3600))
    verifier.verify(token)
    clock.advance(300 + 60 - 10 + 1)  # just past iat + max_age + leeway
    assert code(lambda: verifier.verify(token)) == ErrorCode.TOKEN_TOO_OLD


def test_cached_verdict_dropped_when_issuer_withdraws_the_key(keys: dict[str, SigningKey]) -> None:
    from tests.support.jwks_server import JWKSServer

    from authgate.jose.jwks import RemoteJWKS

    clock = ManualClock(NOW + 10)
    old, new = rsa_key("old"), rsa_key("new")
    with JWKSServer() as srv:
        srv.set_keys([old.jwk, new.jwk], cache_control="max-age=60")
        source = RemoteJWKS(srv.jwks_url, clock=clock)
        cfg = IssuerConfig(ISSUER, source, (AUDIENCE,))
        verifier = TokenVerifier([cfg], verdict_cache=VerdictCache(10, clock=clock), clock=clock)
        token = encode(old, okta_claims())
        verifier.verify(token)
        srv.set_keys([new.jwk], cache_control="max-age=60")  # the old key is withdrawn
        clock.advance(61)
        source.get(None)  # refresh lands
        assert source.drain(5)
        source.get(None)
        assert code(lambda: verifier.verify(token)) == ErrorCode.UNKNOWN_KEY
        source.close()


def test_non_ascii_token_is_malformed_not_a_crash(keys: dict[str, SigningKey]) -> None:
    verifier = verifier_for(keys["RS256"], clock=ManualClock(NOW))
    assert code(lambda: verifier.verify("a.b\ud800.c")) == ErrorCode.MALFORMED_TOKEN
    assert code(lambda: verifier.verify("a.bé.c")) == ErrorCode.MALFORMED_TOKEN


def test_duplicate_issuers_are_a_config_error(keys: dict[str, SigningKey]) -> None:
    from authgate.errors import ConfigError

    source = StaticKeys(KeySet.from_jwks(jwks(keys["RS256"])), description="t")
    cfg = IssuerConfig(ISSUER, source, (AUDIENCE,))
    with pytest.raises(ConfigError, match="twice"):
        TokenVerifier([cfg, cfg])


def test_audiences_required_unless_explicitly_skipped(keys: dict[str, SigningKey]) -> None:
    from authgate.errors import ConfigError

    source = StaticKeys(KeySet.from_jwks(jwks(keys["RS256"])), description="t")
    with pytest.raises(ConfigError, match="audiences"):
        IssuerConfig(ISSUER, source)
    cfg = IssuerConfig(ISSUER, source, skip_audience_check=True)
    verifier = TokenVerifier([cfg], clock=ManualClock(NOW + 10))
    assert verifier.verify(encode(keys["RS256"], okta_claims(aud="api://anything"))).subject
