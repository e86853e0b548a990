"""Credential extraction (RFC 6750 §2, RFC 9449 §7.1)."""

from __future__ import annotations

import pytest

from authgate.authn.credentials import credential_from_headers
from authgate.errors import AuthError, ErrorCode


def test_bearer_and_case_insensitive_scheme() -> None:
    for scheme in (b"Bearer", b"bearer", b"BEARER"):
        cred = credential_from_headers([(b"authorization", scheme + b" abc.def.ghi")])
        assert cred is not None
        assert (cred.token, cred.scheme) == ("abc.def.ghi", "bearer")


def test_two_authorization_headers_refused() -> None:
    with pytest.raises(AuthError) as info:
        credential_from_headers([(b"authorization", b"Bearer a"), (b"authorization", b"Bearer b")])
    assert info.value.code == ErrorCode.INVALID_REQUEST
    assert info.value.status == 400


def test_two_dpop_headers_refused() -> None:
    with pytest.raises(AuthError) as info:
        credential_from_headers([(b"authorization", b"DPoP a"), (b"dpop", b"x"), (b"dpop", b"y")])
    assert info.value.code == ErrorCode.INVALID_DPOP_PROOF


def test_dpop_scheme_carries_proof() -> None:
    cred = credential_from_headers(
        [(b"authorization", b"DPoP tok"), (b"dpop", b"proof")], method="GET", url="http://h/x"
    )
    assert cred is not None
    assert (cred.scheme, cred.dpop_proof, cred.method, cred.url) == (
        "dpop",
        "proof",
        "GET",
        "http://h/x",
    )


def test_other_schemes_and_no_header_are_none() -> None:
    assert credential_from_headers([(b"authorization", b"Basic dXNlcjpwdw==")]) is None
    assert credential_from_headers([]) is None


@pytest.mark.parametrize(
    "value", [b"Bearer", b"Bearer ", b"Bearer a b", b"Bearer a\x00b", b"Bearer a;b"]
)
def test_malformed_bearer_values(value: bytes) -> None:
    with pytest.raises(AuthError) as info:
        credential_from_headers([(b"authorization", value)])
    assert info.value.code == ErrorCode.INVALID_REQUEST


def test_query_token_only_when_allowed() -> None:
    qs = b"access_token=abc&x=1"
    assert credential_from_headers([], query_string=qs) is None
    cred = credential_from_headers([], query_string=qs, allow_query_token=True)
    assert cred is not None
    assert (cred.token, cred.scheme) == ("abc", "query")
    cred = credential_from_headers([], query_string=b"token=t2", allow_query_token=True)
    assert cred is not None
    assert cred.token == "t2"
    with pytest.raises(AuthError):
        credential_from_headers([], query_string=b"token=a&access_token=b", allow_query_token=True)


def test_header_wins_over_query() -> None:
    cred = credential_from_headers(
        [(b"authorization", b"Bearer h")], query_string=b"access_token=q", allow_query_token=True
    )
    assert cred is not None
    assert cred.token == "h"
