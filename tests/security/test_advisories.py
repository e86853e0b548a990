"""Regression tests for past JOSE/JWT library advisories (DESIGN.md "Past advisories").

One test per advisory, each replaying the attack the advisory describes against authgate's
``TokenVerifier`` and asserting the code it must produce. Library bugs recur across projects
(the same ``crit`` and algorithm-confusion mistakes were made in PyJWT, Authlib, python-jose
and others), so each advisory is a standing test, not a one-off check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from tests.security.conftest import Keys, MakeVerifier
from tests.support.tokens import ISSUER, SigningKey, b64, encode, okta_claims

from authgate.errors import ErrorCode
from authgate.jose.keys import KeyImportError, VerificationKey
from authgate.verifier import TokenVerifier

Refused = Callable[[TokenVerifier, str], ErrorCode]


def _hmac_forgery(secret: bytes, kid: str | None, alg: str = "HS256") -> str:
    forger = SigningKey(kid or "x", alg, secret)
    return encode(forger, okta_claims(sub="admin"), alg=alg, kid=kid, no_kid=kid is None)


def _openssh(key: SigningKey) -> bytes:
    return key.private.public_key().public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )


def _pem(key: SigningKey) -> bytes:
    return key.private.public_key().public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_pyjwt_cve_2022_29217_pem_or_ssh_key_as_hmac_secret(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused
) -> None:
    """PyJWT CVE-2022-29217: with every algorithm allowed, an Ed25519 public key in OpenSSH
    (or PEM) form was accepted as an HMAC secret, so anyone holding the public key could forge
    HS256 tokens. Here the key decides its algorithms, and such bytes are refused as secrets."""
    verifier = make_verifier(keys.ed, algorithms=frozenset({"EdDSA", "HS256"}))
    for secret in (_openssh(keys.ed), _pem(keys.ed)):
        assert refused(verifier, _hmac_forgery(secret, keys.ed.kid)) is (
            ErrorCode.UNSUPPORTED_ALGORITHM
        )
        with pytest.raises(KeyImportError):
            VerificationKey.from_secret(secret)


@pytest.mark.parametrize("iss", ["dev-123.okta.com", "oauth2/default", "h", "", ISSUER[8:]])
def test_pyjwt_cve_2024_53861_partial_issuer_match(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, iss: str
) -> None:
    """PyJWT CVE-2024-53861 (2.10.0): the issuer check used ``iss not in issuer``, so for a
    string issuer any SUBSTRING of it passed ("_abc_" accepted "abc"). ``iss`` must equal ours."""
    token = encode(keys.rsa, okta_claims(iss=iss))
    assert refused(make_verifier(keys.rsa), token) is ErrorCode.INVALID_ISSUER


def test_pyjwt_ghsa_752w_5fwx_jx9f_unknown_crit(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused
) -> None:
    """PyJWT GHSA-752w-5fwx-jx9f (CVE-2026-32597, < 2.12.0): the ``crit`` header was not
    validated, so a token demanding an extension the verifier does not implement (e.g. a
    binding or MFA requirement) was accepted as if the extension had been honoured."""
    token = encode(
        keys.rsa,
        okta_claims(),
        header={"alg": "RS256", "kid": keys.rsa.kid, "crit": ["require-mfa"], "require-mfa": 1},
    )
    assert refused(make_verifier(keys.rsa), token) is ErrorCode.UNSUPPORTED_HEADER


def test_authlib_cve_2024_37568_hs_with_asymmetric_key(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused
) -> None:
    """Authlib CVE-2024-37568: without a pinned algorithm, a token with ``alg: HS256`` was
    verified using the RSA public key (PEM bytes) as the HMAC secret — HS/RS confusion. Here
    an RSA key only ever verifies RSA algorithms, even if HS256 is (wrongly) allow-listed."""
    verifier = make_verifier(keys.rsa, algorithms=frozenset({"RS256", "HS256"}))
    assert refused(verifier, _hmac_forgery(_pem(keys.rsa), keys.rsa.kid)) is (
        ErrorCode.UNSUPPORTED_ALGORITHM
    )
    assert refused(verifier, _hmac_forgery(_pem(keys.rsa), None)) is (
        ErrorCode.UNSUPPORTED_ALGORITHM
    )


def test_authlib_cve_2025_59420_crit_ignored(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused
) -> None:
    """Authlib CVE-2025-59420: JWS verification ignored ``crit``, accepting tokens whose
    critical extension (e.g. a token-binding ``cnf`` rule) it never enforced — a split-brain
    with RFC-compliant verifiers. Every ``crit`` list is refused here."""
    header = {"alg": "ES256", "kid": keys.ec.kid, "crit": ["cnf"], "cnf": {"jkt": "x"}}
    token = encode(keys.ec, okta_claims(), header=header)
    assert refused(make_verifier(keys.ec), token) is ErrorCode.UNSUPPORTED_HEADER


@pytest.mark.parametrize("segment", ["header", "signature", "payload"])
def test_authlib_cve_2025_61920_oversized_segments(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, segment: str
) -> None:
    """Authlib CVE-2025-61920 (< 1.6.5): header and signature segments were unbounded; a token
    with a hundreds-of-MB segment was base64-decoded and parsed before being rejected (GBs of
    RAM, seconds of CPU). The size cap is checked first, on the raw text, before any decoding."""
    header, payload, signature = encode(keys.ec, okta_claims()).split(".")
    huge = "A" * (32 * 1024 * 1024)
    parts = {"header": header, "payload": payload, "signature": signature}
    parts[segment] = huge
    token = ".".join(parts.values())
    started = time.perf_counter()
    assert refused(make_verifier(keys.ec), token) is ErrorCode.TOKEN_TOO_LARGE
    # Refusing 32 MB by length is O(1); decoding it would take far longer. Generous bound.
    assert time.perf_counter() - started < 0.5


def test_authlib_cve_2026_27962_embedded_jwk(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused
) -> None:
    """Authlib CVE-2026-27962: a JWS carrying its own public key in the ``jwk`` header could be
    verified with that embedded key — the attacker signs with their key and ships it along.
    Keys come only from the issuer's key set; the embedded one is ignored."""
    evil = keys.attacker_ec
    verifier = make_verifier(keys.ec)
    for kid, expected in (
        (None, ErrorCode.INVALID_SIGNATURE),  # the issuer's single key is used, and fails
        (keys.ec.kid, ErrorCode.INVALID_SIGNATURE),
        (evil.kid, ErrorCode.UNKNOWN_KEY),
    ):
        header = {"alg": "ES256", "jwk": evil.jwk} | ({"kid": kid} if kid else {})
        token = encode(evil, okta_claims(sub="admin"), header=header)
        assert refused(verifier, token) is expected


def test_joserfc_ghsa_wphv_vfrh_23q5_b64_false_size_bypass(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused
) -> None:
    """joserfc GHSA-wphv-vfrh-23q5 (1.3.4 ≤ v < 1.6.7): the RFC 7797 ``b64: false`` paths
    skipped the payload size limit, so a huge unencoded payload was accepted. Here the size
    cap applies to the whole token whatever its header says, and ``b64`` is refused anyway."""
    header = b64(
        json.dumps({"alg": "ES256", "kid": "ec-1", "b64": False, "crit": ["b64"]}).encode()
    )
    # RFC 7797 §5.2: the compact form carries the payload as is (it may not contain '.').
    raw = json.dumps(okta_claims(pad="x" * 200_000)).replace(".", "")
    signature = b64(keys.ec.sign(f"{header}.{raw}".encode()))
    verifier = make_verifier(keys.ec)
    assert refused(verifier, f"{header}.{raw}.{signature}") is ErrorCode.TOKEN_TOO_LARGE
    small = '{"sub":"admin"}'
    small_signature = b64(keys.ec.sign(f"{header}.{small}".encode()))
    assert refused(verifier, f"{header}.{small}.{small_signature}") is (
        ErrorCode.UNSUPPORTED_HEADER
    )


@pytest.mark.parametrize("family", ["ec", "ed"])
def test_python_jose_cve_2024_33663_algorithm_confusion(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, family: str
) -> None:
    """python-jose CVE-2024-33663 (≤ 3.3.0): algorithm confusion with OpenSSH ECDSA keys and
    other key formats — its "is this a public key?" check missed them, so the public key could
    be used as an HMAC secret. EC/OKP keys here verify only their own curve's algorithm."""
    key: SigningKey = getattr(keys, family)
    verifier = make_verifier(key, algorithms=frozenset({key.alg, "HS256"}))
    for secret in (_openssh(key), _pem(key), json.dumps(key.jwk).encode()):
        assert refused(verifier, _hmac_forgery(secret, key.kid)) is (
            ErrorCode.UNSUPPORTED_ALGORITHM
        )
        with pytest.raises(KeyImportError):
            VerificationKey.from_secret(secret)
