"""Security test list — Header (RFC 7515 §4.1, RFC 7797 §3, RFC 8725 §3.10-3.11, RFC 9068 §4).

Key-bearing header parameters (``jwk``, ``jku``, ``x5u``, ``x5c``) are attacker-controlled: the key
must always come from the issuer's configured key set by ``kid``. ``jku``/``x5u`` point at a real
loopback server whose request counter proves nothing was fetched. ``kid`` is an opaque lookup
string (never a path or query), ``crit``/``b64`` extensions and JWE/nested tokens are refused
before any key is touched, and an OIDC ID token is not an access token.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from tests.security.conftest import Keys, MakeVerifier
from tests.support.jwks_server import JWKSServer
from tests.support.tokens import AUDIENCE, ISSUER, NOW, SigningKey, b64, encode, okta_claims

from authgate.clock import ManualClock
from authgate.errors import ErrorCode
from authgate.jose.jwks import RemoteJWKS
from authgate.verifier import IssuerConfig, TokenVerifier

Refused = Callable[[TokenVerifier, str], ErrorCode]


def signed_with_header(key: SigningKey, header: dict[str, Any], **claims: Any) -> str:
    return encode(key, okta_claims(**claims), header={"alg": key.alg, **header})


# -- embedded jwk ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kid_choice", "expected"),
    [
        ("none", ErrorCode.INVALID_SIGNATURE),  # the issuer's only key is used, and fails
        ("attacker-kid", ErrorCode.UNKNOWN_KEY),  # the embedded key is never added to the set
        ("issuer-kid", ErrorCode.INVALID_SIGNATURE),  # the issuer's key, not the embedded one
    ],
)
def test_embedded_jwk_signed_with_its_own_key_is_not_trusted(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, kid_choice: str, expected: ErrorCode
) -> None:
    evil = keys.attacker_ec
    header: dict[str, Any] = {"typ": "JWT", "jwk": evil.jwk}
    if kid_choice == "attacker-kid":
        header["kid"] = evil.kid
    elif kid_choice == "issuer-kid":
        header["kid"] = keys.ec.kid
    token = signed_with_header(evil, header)
    assert refused(make_verifier(keys.ec), token) is expected


# -- jku / x5u / x5c ---------------------------------------------------------------------------------
@pytest.fixture
def attacker_server(keys: Keys) -> Iterator[JWKSServer]:
    with JWKSServer() as server:
        server.set_keys([keys.attacker_ec.jwk])
        server.set_document("/x5u", {"note": "an attacker's certificate chain would be here"})
        yield server


@pytest.fixture
def issuer_server(keys: Keys) -> Iterator[JWKSServer]:
    with JWKSServer() as server:
        server.set_keys([keys.ec.jwk])
        yield server


@pytest.mark.parametrize(
    ("param", "kid_choice", "expected"),
    [
        ("jku", "attacker-kid", ErrorCode.UNKNOWN_KEY),
        ("jku", "issuer-kid", ErrorCode.INVALID_SIGNATURE),
        ("x5u", "attacker-kid", ErrorCode.UNKNOWN_KEY),
        ("x5u", "issuer-kid", ErrorCode.INVALID_SIGNATURE),
    ],
)
def test_jku_and_x5u_are_never_fetched(
    keys: Keys,
    attacker_server: JWKSServer,
    issuer_server: JWKSServer,
    refused: Refused,
    param: str,
    kid_choice: str,
    expected: ErrorCode,
) -> None:
    clock = ManualClock(NOW + 10)
    source = RemoteJWKS(issuer_server.jwks_url, clock=clock)
    verifier = TokenVerifier(
        [IssuerConfig(ISSUER, source, (AUDIENCE,), frozenset({"ES256"}))], clock=clock
    )
    url = attacker_server.jwks_url if param == "jku" else attacker_server.url + "/x5u"
    kid = keys.attacker_ec.kid if kid_choice == "attacker-kid" else keys.ec.kid
    token = signed_with_header(keys.attacker_ec, {"typ": "JWT", "kid": kid, param: url})
    try:
        assert refused(verifier, token) is expected
    finally:
        source.close()
    assert attacker_server.fetch_count == 0
    assert attacker_server.received("/x5u") == 0
    assert issuer_server.fetch_count >= 1  # the configured JWKS was the one consulted


def _self_signed(key: SigningKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dev-123.okta.com")])
    start = datetime.datetime(2023, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.private.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(key.private, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.DER)


@pytest.mark.parametrize("with_kid", [False, True], ids=["no-kid", "issuer-kid"])
def test_x5c_chain_is_not_a_key_source(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, with_kid: bool
) -> None:
    import base64

    evil = keys.attacker_ec
    cert = base64.b64encode(_self_signed(evil)).decode()
    header: dict[str, Any] = {"typ": "JWT", "x5c": [cert]}
    if with_kid:
        header["kid"] = keys.ec.kid
    token = signed_with_header(evil, header)
    assert refused(make_verifier(keys.ec), token) is ErrorCode.INVALID_SIGNATURE


# -- kid as an injection vector -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kid", "expected"),
    [
        pytest.param("../../etc/passwd", ErrorCode.UNKNOWN_KEY, id="path-traversal"),
        pytest.param("/dev/null", ErrorCode.UNKNOWN_KEY, id="absolute-path"),
        pytest.param("' OR '1'='1", ErrorCode.UNKNOWN_KEY, id="sql-injection"),
        pytest.param("x'; DROP TABLE keys; --", ErrorCode.UNKNOWN_KEY, id="sql-drop"),
        pytest.param("ec-1\u0000", ErrorCode.UNKNOWN_KEY, id="nul-after-real-kid"),
        pytest.param("\u0000", ErrorCode.UNKNOWN_KEY, id="nul-only"),
        pytest.param("EC-1", ErrorCode.UNKNOWN_KEY, id="case-variant"),
        pytest.param("ec-1 ", ErrorCode.UNKNOWN_KEY, id="trailing-space"),
        pytest.param("", ErrorCode.UNKNOWN_KEY, id="empty"),
        pytest.param("k" * 256, ErrorCode.UNKNOWN_KEY, id="256-chars-limit"),
        pytest.param("k" * 257, ErrorCode.MALFORMED_TOKEN, id="257-chars"),
        pytest.param("k" * 10240, ErrorCode.MALFORMED_TOKEN, id="10KB"),
        pytest.param(1, ErrorCode.MALFORMED_TOKEN, id="number"),
        pytest.param(["ec-1"], ErrorCode.MALFORMED_TOKEN, id="list"),
        pytest.param({"$ne": None}, ErrorCode.MALFORMED_TOKEN, id="nosql-object"),
    ],
)
def test_hostile_kid(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, kid: object, expected: ErrorCode
) -> None:
    token = signed_with_header(keys.ec, {"typ": "JWT", "kid": kid})
    assert refused(make_verifier(keys.ec), token) is expected


# -- crit, b64, JWE, nested JWT -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"crit": ["exp"], "exp": NOW + 3600}, id="crit-exp"),
        pytest.param({"crit": ["http://example.com/unknown"]}, id="crit-unknown-url"),
        pytest.param({"crit": ["b64"], "b64": True}, id="crit-b64-true"),
        pytest.param({"crit": []}, id="crit-empty"),
        pytest.param({"crit": "exp"}, id="crit-not-a-list"),
        pytest.param({"b64": False}, id="b64-false-without-crit"),
        pytest.param({"b64": False, "crit": ["b64"]}, id="b64-false-rfc7797"),
    ],
)
def test_unsupported_header_extensions(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, header: dict[str, Any]
) -> None:
    token = signed_with_header(keys.ec, {"typ": "JWT", "kid": keys.ec.kid, **header})
    assert refused(make_verifier(keys.ec), token) is ErrorCode.UNSUPPORTED_HEADER


def test_b64_false_unencoded_payload_is_refused(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused
) -> None:
    """RFC 7797 form: the signature covers the raw payload; the token carries it detached."""
    header = b'{"alg":"ES256","kid":"ec-1","b64":false,"crit":["b64"]}'
    raw = b'{"sub":"alice@example.com"}'
    signature = keys.ec.sign(b64(header).encode() + b"." + raw)
    token = f"{b64(header)}..{b64(signature)}"
    assert refused(make_verifier(keys.ec), token) is ErrorCode.UNSUPPORTED_HEADER


@pytest.mark.parametrize(
    "token_fn",
    [
        pytest.param(
            lambda: ".".join(
                [
                    b64(b'{"alg":"RSA-OAEP","enc":"A256GCM"}'),
                    *(b64(part) for part in (b"k" * 256, b"i" * 12, b"c" * 40, b"t" * 16)),
                ]
            ),
            id="jwe-5-parts",
        ),
        pytest.param(
            lambda: ".".join(
                [b64(b'{"alg":"dir","enc":"A128GCM"}'), "", b64(b"i" * 12), "", b64(b"t" * 16)]
            ),
            id="jwe-dir-empty-parts",
        ),
    ],
)
def test_jwe_refused(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, token_fn: Callable[[], str]
) -> None:
    assert refused(make_verifier(keys.ec), token_fn()) is ErrorCode.UNSUPPORTED_TOKEN_TYPE


def test_jwe_header_in_three_parts_refused(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused
) -> None:
    token = signed_with_header(keys.ec, {"kid": keys.ec.kid, "enc": "A256GCM"})
    assert refused(make_verifier(keys.ec), token) is ErrorCode.UNSUPPORTED_TOKEN_TYPE


@pytest.mark.parametrize("cty", ["JWT", "jwt", "application/jwt", "Application/JWT"])
def test_nested_jwt_refused(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, cty: str
) -> None:
    inner = encode(keys.ec, okta_claims())
    header = encode(None, {}, header={"alg": "ES256", "kid": keys.ec.kid, "cty": cty})
    # The outer token carries the inner JWT as its (non-JSON) payload (RFC 7519 §7.1 step 8).
    signing_input = f"{header.split('.')[0]}.{b64(inner.encode())}"
    token = f"{signing_input}.{b64(keys.ec.sign(signing_input.encode()))}"
    assert refused(make_verifier(keys.ec), token) is ErrorCode.UNSUPPORTED_TOKEN_TYPE


def test_jwt_as_payload_without_cty_is_malformed(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused
) -> None:
    inner = encode(keys.ec, okta_claims())
    header = encode(None, {}, header={"alg": "ES256", "kid": keys.ec.kid}).split(".")[0]
    signing_input = f"{header}.{b64(inner.encode())}"
    token = f"{signing_input}.{b64(keys.ec.sign(signing_input.encode()))}"
    assert refused(make_verifier(keys.ec), token) is ErrorCode.MALFORMED_TOKEN


# -- an ID token presented as an access token --------------------------------------------------------
def okta_id_token_claims(**overrides: Any) -> dict[str, Any]:
    """Okta ID token (okta-wire §3.3): sub is the user id, aud the client id, no scp."""
    claims: dict[str, Any] = {
        "ver": 1,
        "sub": "00u1b2c3d4e5f6g7h8i9",
        "iss": ISSUER,
        "aud": "0oa1b2c3d4e5f6g7h8i9",
        "iat": NOW,
        "exp": NOW + 3600,
        "jti": "ID.4eAWJOCMB3SX8XewDfVR",
        "amr": ["pwd"],
        "idp": "00o1b2c3d4e5f6g7h8i9",
        "auth_time": NOW - 5,
        "nonce": "n-0S6_WzA2Mj",
        "at_hash": "preview_at_hash",
        "name": "Alice",
        "preferred_username": "alice@example.com",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not ...}


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="okta-id-token"),
        pytest.param({"aud": AUDIENCE}, id="id-token-with-our-audience"),
        pytest.param({"aud": AUDIENCE, "nonce": ..., "at_hash": ...}, id="amr-auth_time-only"),
        pytest.param({"aud": AUDIENCE, "nonce": ...}, id="at_hash-only"),
        pytest.param({"aud": AUDIENCE, "at_hash": ..., "amr": ...}, id="nonce-only"),
    ],
)
def test_id_token_is_not_an_access_token(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, overrides: dict[str, Any]
) -> None:
    token = encode(keys.rsa, okta_id_token_claims(**overrides))
    assert refused(make_verifier(keys.rsa), token) is ErrorCode.ID_TOKEN_REJECTED


def test_id_token_accepted_only_when_configured(keys: Keys, make_verifier: MakeVerifier) -> None:
    """Control: the same token passes where ID tokens are explicitly allowed."""
    verifier = make_verifier(keys.rsa, accept_id_tokens=True, audiences=("0oa1b2c3d4e5f6g7h8i9",))
    assert verifier.verify(encode(keys.rsa, okta_id_token_claims())).subject == (
        "00u1b2c3d4e5f6g7h8i9"
    )
