"""JWT claim rules (RFC 7519 §4.1, RFC 9068 §4) with an injected ``now``: one test per rule."""

from __future__ import annotations

from typing import Any

import pytest

from authgate.clock import ManualClock
from authgate.errors import AuthError, ConfigError, ErrorCode
from authgate.jose import ClaimsPolicy, looks_like_id_token, validate_claims

ISSUER = "https://dev-123.okta.com/oauth2/default"
NOW = 1_700_000_000.0
POLICY = ClaimsPolicy(ISSUER, ("api://default",))


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": "api://default",
        "iat": NOW - 10,
        "exp": NOW + 3600,
        "sub": "alice",
        "scp": ["read"],
        "cid": "0oa1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not _MISSING}


_MISSING: Any = object()


def refused(payload: dict[str, Any], policy: ClaimsPolicy = POLICY, now: float = NOW) -> AuthError:
    with pytest.raises(AuthError) as info:
        validate_claims(payload, policy, now)
    return info.value


def test_a_good_access_token_passes() -> None:
    validate_claims(claims(), POLICY, NOW)


def test_now_comes_from_an_injected_clock() -> None:
    clock = ManualClock(start=NOW)
    validate_claims(claims(), POLICY, clock.time())
    clock.advance(3600 + 60)
    assert refused(claims(), now=clock.time()).code is ErrorCode.TOKEN_EXPIRED


# --- iss -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iss",
    [
        ISSUER + "/",
        ISSUER + "x",
        ISSUER[:-1],
        ISSUER.upper(),
        "https://dev-123.okta.com",
        "https://evil.example/" + ISSUER,
        ["https://dev-123.okta.com/oauth2/default"],
        7,
    ],
    ids=["slash", "suffix", "prefix", "case", "org", "embedded", "list", "number"],
)
def test_issuer_must_match_exactly(iss: Any) -> None:
    """PyJWT CVE-2024-53861: partial issuer matches must not pass."""
    err = refused(claims(iss=iss))
    assert err.code is ErrorCode.INVALID_ISSUER
    assert err.claim == "iss"
    assert repr(ISSUER) in err.detail


def test_missing_issuer() -> None:
    err = refused(claims(iss=_MISSING))
    assert (err.code, err.claim) == (ErrorCode.MISSING_CLAIM, "iss")


# --- aud -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("aud", ["api://default", ["other", "api://default"], ["api://default"]])
def test_audience_string_or_list_including_ours_passes(aud: Any) -> None:
    validate_claims(claims(aud=aud), POLICY, NOW)


@pytest.mark.parametrize(
    "aud",
    [["x"], "x", [], 5, _MISSING, None, ["api://default", 5], "API://DEFAULT", {"a": 1}],
    ids=["other-list", "other", "empty", "number", "missing", "null", "mixed", "case", "object"],
)
def test_audience_refusals(aud: Any) -> None:
    err = refused(claims(aud=aud))
    assert (err.code, err.claim) == (ErrorCode.INVALID_AUDIENCE, "aud")
    assert "['api://default']" in err.detail


def test_audience_message_names_both_sides() -> None:
    err = refused(claims(aud=["x"]))
    assert err.detail == "token audience ['x'] is not accepted; accepted: ['api://default']"


def test_audience_not_matched_when_none_configured() -> None:
    validate_claims(claims(aud=_MISSING), ClaimsPolicy(ISSUER), NOW)
    validate_claims(claims(aud=["anything", "else"]), ClaimsPolicy(ISSUER), NOW)


@pytest.mark.parametrize("aud", [42, True, 1.5, [], [1], {"a": "b"}])
def test_malformed_audience_is_refused_even_when_not_matched(aud: Any) -> None:
    err = refused(claims(aud=aud), ClaimsPolicy(ISSUER))
    assert (err.code, err.claim) == (ErrorCode.INVALID_AUDIENCE, "aud")


# --- exp / nbf / iat ----------------------------------------------------------------------------------


def test_exp_is_required_by_default() -> None:
    err = refused(claims(exp=_MISSING))
    assert (err.code, err.claim) == (ErrorCode.MISSING_CLAIM, "exp")
    validate_claims(claims(exp=_MISSING), ClaimsPolicy(ISSUER, require_exp=False), NOW)


def test_exp_boundary_at_now_plus_leeway() -> None:
    validate_claims(claims(exp=NOW - 59), POLICY, NOW)
    validate_claims(claims(exp=NOW - 59.999), POLICY, NOW)
    err = refused(claims(exp=NOW - 60))
    assert err.code is ErrorCode.TOKEN_EXPIRED
    assert "expired 60s ago (leeway 60s)" in err.detail
    err = refused(claims(exp=NOW - 600))
    assert "expired 10min ago" in err.detail


def test_zero_leeway() -> None:
    policy = ClaimsPolicy(ISSUER, ("api://default",), leeway=0)
    assert refused(claims(exp=NOW), policy).code is ErrorCode.TOKEN_EXPIRED
    validate_claims(claims(exp=NOW + 1), policy, NOW)


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value",
    [str(int(NOW)), True, False, 1e20, float("nan"), float("inf"), -1, None, [1], 2**53],
    ids=["string", "true", "false", "1e20", "nan", "inf", "negative", "null", "list", "2^53"],
)
def test_time_claims_must_be_numeric_dates(name: str, value: Any) -> None:
    err = refused(claims(**{name: value}))
    assert (err.code, err.claim) == (ErrorCode.INVALID_CLAIM, name)


def test_float_time_claims_are_fine() -> None:
    validate_claims(claims(exp=NOW + 0.5, iat=NOW - 0.5, nbf=NOW - 0.25), POLICY, NOW)


def test_nbf_in_the_future() -> None:
    validate_claims(claims(nbf=NOW + 60), POLICY, NOW)
    err = refused(claims(nbf=NOW + 61))
    assert (err.code, err.claim) == (ErrorCode.TOKEN_NOT_YET_VALID, "nbf")
    assert "clock skew" in err.detail


def test_iat_in_the_future() -> None:
    validate_claims(claims(iat=NOW + 60), POLICY, NOW)
    err = refused(claims(iat=NOW + 300))
    assert (err.code, err.claim) == (ErrorCode.TOKEN_NOT_YET_VALID, "iat")
    assert "issued in the future" in err.detail
    assert "check clock skew" in err.detail


def test_max_age() -> None:
    policy = ClaimsPolicy(ISSUER, ("api://default",), max_age=300)
    validate_claims(claims(iat=NOW - 360), policy, NOW)
    err = refused(claims(iat=NOW - 361), policy)
    assert (err.code, err.claim) == (ErrorCode.TOKEN_TOO_OLD, "iat")
    err = refused(claims(iat=_MISSING), policy)
    assert (err.code, err.claim) == (ErrorCode.MISSING_CLAIM, "iat")


# --- other claims -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), [("sub", 5), ("sub", ["a"]), ("jti", 1), ("jti", {})])
def test_sub_and_jti_must_be_strings(name: str, value: Any) -> None:
    err = refused(claims(**{name: value}))
    assert (err.code, err.claim) == (ErrorCode.INVALID_CLAIM, name)


def test_required_claims() -> None:
    policy = ClaimsPolicy(ISSUER, ("api://default",), required_claims=("uid",))
    err = refused(claims(), policy)
    assert (err.code, err.claim) == (ErrorCode.MISSING_CLAIM, "uid")
    validate_claims(claims(uid="00u1"), policy, NOW)


# --- ID tokens -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"nonce": "n"},
        {"at_hash": "h"},
        {"c_hash": "h"},
        {"amr": ["pwd"], "scp": _MISSING, "cid": _MISSING},
        {"auth_time": NOW - 5, "scp": _MISSING, "cid": _MISSING},
    ],
    ids=["nonce", "at_hash", "c_hash", "amr", "auth_time"],
)
def test_id_tokens_are_refused_unless_accepted(extra: dict[str, Any]) -> None:
    payload = claims(**extra)
    assert looks_like_id_token(payload)
    err = refused(payload)
    assert err.code is ErrorCode.ID_TOKEN_REJECTED
    assert "send the access token" in err.detail
    validate_claims(payload, ClaimsPolicy(ISSUER, ("api://default",), accept_id_tokens=True), NOW)


@pytest.mark.parametrize("marker", ["scp", "scope", "client_id", "cid"])
def test_access_tokens_with_amr_are_not_id_tokens(marker: str) -> None:
    overrides: dict[str, Any] = {"amr": ["pwd"], "auth_time": NOW, "scp": _MISSING, "cid": _MISSING}
    payload = claims(**{**overrides, marker: "x"})
    assert not looks_like_id_token(payload)
    validate_claims(payload, POLICY, NOW)


# --- policy ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"issuer": ""}, "issuer"),
        ({"issuer": ISSUER, "leeway": -1}, "leeway"),
        ({"issuer": ISSUER, "leeway": 3600}, "leeway"),
        ({"issuer": ISSUER, "max_age": 0}, "max_age"),
    ],
)
def test_policy_refuses_bad_settings(kwargs: dict[str, Any], setting: str) -> None:
    with pytest.raises(ConfigError) as info:
        ClaimsPolicy(**kwargs)
    assert info.value.setting == setting
