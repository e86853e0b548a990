"""Security test list — Claims (RFC 7519 §4.1, RFC 9068 §4, RFC 8725 §3.8-3.9).

Validly signed tokens whose claims must still be refused. Time boundaries are exact, with the
clock injected. **Boundary decision** (documented here and in the verifier's behaviour): with
leeway L, a token is expired when ``now >= exp + L`` — exactly at the boundary it is refused,
as PyJWT does (``exp <= now - leeway``) — while ``nbf``/``iat`` are refused only when
``> now + L``, so a token exactly L seconds early is still accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.security.conftest import LEEWAY, VERIFY_AT, Keys, MakeVerifier
from tests.support.tokens import AUDIENCE, ISSUER, NOW, encode, jwks, okta_claims

from authgate.clock import ManualClock
from authgate.errors import AuthError, ErrorCode
from authgate.jose.key_source import StaticKeys
from authgate.jose.keys import KeySet
from authgate.jose.verdict_cache import VerdictCache
from authgate.verifier import IssuerConfig, TokenVerifier

Refused = Callable[[TokenVerifier, str], ErrorCode]
EXP = NOW + 3600


# -- iss ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "iss",
    [
        pytest.param(ISSUER[:-1], id="prefix"),
        pytest.param(ISSUER.rsplit("/", 1)[0], id="parent-path"),
        pytest.param(ISSUER + "/", id="trailing-slash"),
        pytest.param(ISSUER + "x", id="suffix"),
        pytest.param(ISSUER + "/../default", id="dot-segments"),
        pytest.param(ISSUER.upper(), id="upper-case"),
        pytest.param(ISSUER.replace("dev-123", "DEV-123"), id="host-case"),
        pytest.param(" " + ISSUER, id="leading-space"),
        pytest.param(ISSUER + "\u0000", id="nul-suffix"),
        pytest.param(ISSUER.replace("okta", "okta\u200b"), id="zero-width-space"),
        pytest.param("https://evil.example/?" + ISSUER, id="embedded-in-query"),
        pytest.param("https://dev-123.okta.com.evil.example/oauth2/default", id="host-suffix"),
        pytest.param([ISSUER], id="list"),
        pytest.param(None, id="null"),
        pytest.param(..., id="missing"),
    ],
)
def test_issuer_variants(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, iss: Any
) -> None:
    token = encode(keys.rsa, okta_claims(iss=iss))
    assert refused(make_verifier(keys.rsa), token) is ErrorCode.INVALID_ISSUER


def test_token_for_one_issuer_signed_by_anothers_key(keys: Keys, clock: ManualClock) -> None:
    """Multi-issuer: each issuer's tokens verify with that issuer's keys only."""
    partner = "https://dev-123.okta.com/oauth2/aus9partner"
    configs = [
        IssuerConfig(ISSUER, StaticKeys(KeySet.from_jwks(jwks(keys.rsa)), description="a"),
                     (AUDIENCE,), frozenset({"RS256"})),
        IssuerConfig(partner, StaticKeys(KeySet.from_jwks(jwks(keys.ec)), description="b"),
                     (AUDIENCE,), frozenset({"ES256"})),
    ]  # fmt: skip
    verifier = TokenVerifier(configs, clock=clock)
    assert verifier.verify(encode(keys.rsa, okta_claims())).issuer == ISSUER
    with pytest.raises(AuthError) as info:
        verifier.verify(encode(keys.rsa, okta_claims(iss=partner)))
    assert info.value.code is ErrorCode.UNSUPPORTED_ALGORITHM  # RS256 is not partner's alg
    with pytest.raises(AuthError) as info:
        verifier.verify(encode(keys.ec, okta_claims(iss=ISSUER), kid=keys.rsa.kid))
    assert info.value.code is ErrorCode.UNSUPPORTED_ALGORITHM  # ES256 is not ours


# -- aud ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "aud",
    [
        pytest.param(AUDIENCE, id="string"),
        pytest.param([AUDIENCE], id="list-of-ours"),
        pytest.param(["api://other", AUDIENCE], id="list-including-ours"),
    ],
)
def test_audience_accepted(keys: Keys, make_verifier: MakeVerifier, aud: Any) -> None:
    principal = make_verifier(keys.rsa).verify(encode(keys.rsa, okta_claims(aud=aud)))
    assert AUDIENCE in principal.audiences


@pytest.mark.parametrize(
    "aud",
    [
        pytest.param([], id="empty-list"),
        pytest.param(42, id="number"),
        pytest.param(True, id="true"),
        pytest.param(..., id="missing"),
        pytest.param(None, id="null"),
        pytest.param("", id="empty-string"),
        pytest.param("api://other", id="other"),
        pytest.param(["api://other"], id="list-of-other"),
        pytest.param([AUDIENCE, 42], id="list-with-a-number"),
        pytest.param([[AUDIENCE]], id="nested-list"),
        pytest.param({AUDIENCE: True}, id="object"),
        pytest.param(AUDIENCE + " api://other", id="space-joined"),
        pytest.param(AUDIENCE.upper(), id="case-variant"),
        pytest.param(AUDIENCE[:-1], id="prefix"),
    ],
)
def test_audience_refused(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, aud: Any
) -> None:
    token = encode(keys.rsa, okta_claims(aud=aud))
    assert refused(make_verifier(keys.rsa), token) is ErrorCode.INVALID_AUDIENCE


@pytest.mark.parametrize(
    "aud",
    [pytest.param(42, id="number"), pytest.param(True, id="true"), pytest.param(1.5, id="float")],
)
def test_malformed_audience_without_audience_policy(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, aud: Any
) -> None:
    """``skip_audience_check`` skips the audience match, not the claim's type (RFC 7519 §4.1.3).

    A non-string ``aud`` must get a stable code, never an unhandled exception (a 500).
    """
    verifier = make_verifier(keys.rsa, audiences=(), skip_audience_check=True)
    assert refused(verifier, encode(keys.rsa, okta_claims(aud=aud))) is ErrorCode.INVALID_AUDIENCE


# -- exp / nbf / iat boundaries -----------------------------------------------------------------------
def test_an_empty_audience_list_is_a_config_error(keys: Keys, make_verifier: MakeVerifier) -> None:
    """Review finding: an empty ``audiences`` used to mean "any audience" silently."""
    from authgate.errors import ConfigError

    with pytest.raises(ConfigError, match="audiences"):
        make_verifier(keys.rsa, audiences=())


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(EXP - 1, None, id="before-exp"),
        pytest.param(EXP, None, id="at-exp-inside-leeway"),
        pytest.param(EXP + LEEWAY - 1, None, id="exp+leeway-1s"),
        pytest.param(EXP + LEEWAY - 0.001, None, id="exp+leeway-1ms"),
        pytest.param(EXP + LEEWAY, ErrorCode.TOKEN_EXPIRED, id="exactly-exp+leeway"),
        pytest.param(EXP + LEEWAY + 1, ErrorCode.TOKEN_EXPIRED, id="exp+leeway+1s"),
        pytest.param(EXP + 86400 * 365, ErrorCode.TOKEN_EXPIRED, id="a-year-late"),
    ],
)
def test_exp_boundary(
    keys: Keys,
    make_verifier: MakeVerifier,
    clock: ManualClock,
    refused: Refused,
    now: float,
    expected: ErrorCode | None,
) -> None:
    verifier = make_verifier(keys.rsa)
    token = encode(keys.rsa, okta_claims(exp=EXP))
    clock.set(now)
    if expected is None:
        assert verifier.verify(token).expires_at == EXP
    else:
        assert refused(verifier, token) is expected


@pytest.mark.parametrize("claim", ["nbf", "iat"])
@pytest.mark.parametrize(
    ("ahead", "expected"),
    [
        pytest.param(0, None, id="now"),
        pytest.param(LEEWAY - 1, None, id="leeway-1s-ahead"),
        pytest.param(LEEWAY, None, id="exactly-leeway-ahead"),
        pytest.param(LEEWAY + 0.001, ErrorCode.TOKEN_NOT_YET_VALID, id="leeway+1ms-ahead"),
        pytest.param(LEEWAY + 1, ErrorCode.TOKEN_NOT_YET_VALID, id="leeway+1s-ahead"),
        pytest.param(86400, ErrorCode.TOKEN_NOT_YET_VALID, id="a-day-ahead"),
    ],
)
def test_nbf_and_iat_in_the_future(
    keys: Keys,
    make_verifier: MakeVerifier,
    refused: Refused,
    claim: str,
    ahead: float,
    expected: ErrorCode | None,
) -> None:
    token = encode(keys.rsa, okta_claims(**{claim: VERIFY_AT + ahead}))
    verifier = make_verifier(keys.rsa)
    if expected is None:
        assert verifier.verify(token).subject
    else:
        assert refused(verifier, token) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(float(EXP) + 0.5, None, id="float-accepted"),
        pytest.param(str(EXP), ErrorCode.INVALID_CLAIM, id="string"),
        pytest.param(True, ErrorCode.INVALID_CLAIM, id="true"),
        pytest.param(False, ErrorCode.INVALID_CLAIM, id="false"),
        pytest.param(None, ErrorCode.INVALID_CLAIM, id="null"),
        pytest.param(1e20, ErrorCode.INVALID_CLAIM, id="1e20"),
        pytest.param(10**30, ErrorCode.INVALID_CLAIM, id="int-beyond-64-bit"),
        pytest.param(-1, ErrorCode.INVALID_CLAIM, id="negative"),
        pytest.param([EXP], ErrorCode.INVALID_CLAIM, id="list"),
        pytest.param({"$date": EXP}, ErrorCode.INVALID_CLAIM, id="object"),
        pytest.param(..., ErrorCode.MISSING_CLAIM, id="missing"),
        pytest.param(float("nan"), ErrorCode.MALFORMED_TOKEN, id="raw-NaN"),
        pytest.param(float("inf"), ErrorCode.MALFORMED_TOKEN, id="raw-Infinity"),
        pytest.param(float("-inf"), ErrorCode.MALFORMED_TOKEN, id="raw-minus-Infinity"),
    ],
)
def test_exp_types(
    keys: Keys,
    make_verifier: MakeVerifier,
    refused: Refused,
    value: Any,
    expected: ErrorCode | None,
) -> None:
    # json.dumps writes NaN/Infinity as the raw (non-JSON) words, as a hostile issuer would.
    token = encode(keys.rsa, okta_claims(exp=value))
    verifier = make_verifier(keys.rsa)
    if expected is None:
        assert verifier.verify(token).expires_at == value
    else:
        assert refused(verifier, token) is expected


@pytest.mark.parametrize(
    "raw_exp", [b"1e400", b"-1e400", b"0x6553F100", b"+1700003600", b"01700003600", b".5"]
)
def test_exp_non_json_numbers(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, raw_exp: bytes
) -> None:
    payload = f'{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"a","scp":["x"],"exp":'.encode()
    token = encode(keys.rsa, payload + raw_exp + b"}")
    assert refused(make_verifier(keys.rsa), token) is ErrorCode.MALFORMED_TOKEN


@pytest.mark.parametrize("claim", ["nbf", "iat"])
@pytest.mark.parametrize(
    "value", [str(NOW), True, 1e20, -5, [NOW]], ids=["string", "true", "1e20", "negative", "list"]
)
def test_nbf_iat_types(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, claim: str, value: Any
) -> None:
    token = encode(keys.rsa, okta_claims(**{claim: value}))
    assert refused(make_verifier(keys.rsa), token) is ErrorCode.INVALID_CLAIM


def test_verdict_cache_never_outlives_exp_plus_leeway(
    keys: Keys, clock: ManualClock, refused: Refused
) -> None:
    source = StaticKeys(KeySet.from_jwks(jwks(keys.rsa)), description="cached")
    cfg = IssuerConfig(ISSUER, source, (AUDIENCE,), frozenset({"RS256"}), leeway=LEEWAY)
    verifier = TokenVerifier([cfg], verdict_cache=VerdictCache(10, clock=clock), clock=clock)
    token = encode(keys.rsa, okta_claims(exp=EXP))
    clock.set(EXP - 1)
    assert verifier.verify(token).subject  # cached now
    clock.set(EXP + LEEWAY)
    assert refused(verifier, token) is ErrorCode.TOKEN_EXPIRED


@pytest.mark.parametrize(
    ("claim", "value"),
    [("sub", 5), ("sub", ""), ("sub", ...), ("jti", 7), ("scp", 5), ("scp", {"a": 1})],
    ids=["sub-number", "sub-empty", "sub-missing", "jti-number", "scp-number", "scp-object"],
)
def test_identity_claim_types(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, claim: str, value: Any
) -> None:
    token = encode(keys.rsa, okta_claims(**{claim: value}))
    expected = ErrorCode.MISSING_CLAIM if value in ("", ...) else ErrorCode.INVALID_CLAIM
    assert refused(make_verifier(keys.rsa), token) is expected
