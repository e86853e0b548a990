"""AuthError: statuses, RFC 6750 §3 challenges, JSON bodies."""

from __future__ import annotations

import pytest

from authgate.errors import AuthError, ConfigError, ErrorCode, status_for


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (ErrorCode.MISSING_TOKEN, 401),
        (ErrorCode.TOKEN_EXPIRED, 401),
        (ErrorCode.INSUFFICIENT_SCOPE, 403),
        (ErrorCode.ROLE_MISSING, 403),
        (ErrorCode.RATE_LIMITED_IP, 429),
        (ErrorCode.JWKS_UNAVAILABLE, 503),
        (ErrorCode.INVALID_REQUEST, 400),
    ],
)
def test_status_per_code(code: ErrorCode, status: int) -> None:
    assert status_for(code) == status
    assert AuthError(code, "x").status == status


def test_missing_token_challenge_has_no_error_param() -> None:
    # RFC 6750 §3.1: no error code when the request lacked authentication information.
    err = AuthError(ErrorCode.MISSING_TOKEN, "no bearer token was presented")
    assert err.www_authenticate(realm="api") == 'Bearer realm="api"'
    assert "error" not in err.to_dict()


def test_invalid_token_challenge() -> None:
    err = AuthError(ErrorCode.TOKEN_EXPIRED, 'token expired 5 s ago "quoted"')
    value = err.www_authenticate()
    assert value.startswith('Bearer error="invalid_token", error_description="token expired')
    assert '"quoted"' not in value  # quotes inside the description are neutralised
    assert err.to_dict()["code"] == "auth.token_expired"


def test_insufficient_scope_challenge_lists_scopes() -> None:
    err = AuthError(ErrorCode.INSUFFICIENT_SCOPE, "needs api:write", scope=["api:write"])
    assert 'error="insufficient_scope"' in err.www_authenticate()
    assert 'scope="api:write"' in err.www_authenticate()
    assert err.to_dict()["scope"] == "api:write"


def test_non_ascii_description_is_made_header_safe() -> None:
    err = AuthError(ErrorCode.INVALID_ISSUER, "issuer 'h\u00e9llo\n' refused")
    value = err.www_authenticate()
    value.encode("ascii")  # would raise on non-ASCII
    assert "\n" not in value


def test_dpop_scheme_challenge() -> None:
    err = AuthError(ErrorCode.INVALID_DPOP_PROOF, "bad proof", scheme="DPoP")
    assert err.www_authenticate().startswith('DPoP error="invalid_dpop_proof"')


def test_config_error_names_setting() -> None:
    err = ConfigError("AUTHGATE_LEEWAY", "must be a number")
    assert err.setting == "AUTHGATE_LEEWAY"
    assert "AUTHGATE_LEEWAY" in str(err)
    assert err.code == ErrorCode.CONFIG_INVALID


def test_codes_are_unique_and_dotted() -> None:
    values = [c.value for c in ErrorCode]
    assert len(values) == len(set(values))
    assert all("." in v and v == v.lower() for v in values)
