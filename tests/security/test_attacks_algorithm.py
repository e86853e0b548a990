"""Security test list — Algorithm (RFC 7515 §4.1.1, RFC 7518 §3, RFC 8725 §2.1/§3.1).

Each attack is a token an attacker can build without the issuer's private key (or with a key
the verifier must not trust), sent through ``TokenVerifier.verify``; each asserts the exact code
the operator will see. The classic HS/RS confusion signs with HMAC over the public key's own
bytes (PEM, DER, JWK JSON) — the secret a confused verifier would pick up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from tests.security.conftest import Keys, MakeVerifier
from tests.support.tokens import SigningKey, b64, encode, hs_key, jwks, okta_claims

from authgate.errors import ErrorCode
from authgate.jose.key_source import StaticKeys
from authgate.jose.keys import KeyImportError, KeySet, VerificationKey
from authgate.verifier import IssuerConfig, TokenVerifier

Refused = Callable[[TokenVerifier, str], ErrorCode]
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


# -- alg "none" -----------------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "NoNe"])
@pytest.mark.parametrize("signature", ["", "c2ln"], ids=["empty-sig", "junk-sig"])
def test_alg_none_in_any_casing(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, alg: str, signature: str
) -> None:
    verifier = make_verifier(keys.rsa)
    unsigned = encode(None, okta_claims(), header={"alg": alg, "typ": "JWT", "kid": "rsa-1"})
    token = unsigned.rsplit(".", 1)[0] + "." + signature
    assert refused(verifier, token) is ErrorCode.UNSUPPORTED_ALGORITHM


# -- stripped signature ---------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["rsa", "ec", "ed", "hs"])
def test_stripped_signature(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, family: str
) -> None:
    key: SigningKey = getattr(keys, family)
    verifier = make_verifier(key)
    signed = encode(key, okta_claims())
    assert verifier.verify(signed).subject == "alice@example.com"  # the control passes
    header_payload = signed.rsplit(".", 1)[0]
    assert refused(verifier, header_payload + ".") is ErrorCode.INVALID_SIGNATURE
    assert refused(verifier, header_payload) is ErrorCode.MALFORMED_TOKEN


# -- HS256 keyed with the issuer's public key ------------------------------------------------------
def public_key_spellings(key: SigningKey) -> dict[str, bytes]:
    """The bytes a confused verifier could take as an HMAC secret for ``key``."""
    public = key.private.public_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    spellings = {
        "pem": public.public_bytes(serialization.Encoding.PEM, spki),
        "der": public.public_bytes(serialization.Encoding.DER, spki),
        "jwk-json": json.dumps(key.jwk).encode(),
        "jwk-json-compact": json.dumps(key.jwk, separators=(",", ":")).encode(),
        "openssh": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
    }
    if key.alg.startswith("RS"):
        spellings["pem-pkcs1"] = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        )
    return spellings


CONFUSION_CASES = [
    (family, spelling, hs_alg, allow)
    for family, spellings in (
        ("rsa", ("pem", "pem-pkcs1", "der", "jwk-json", "jwk-json-compact", "openssh")),
        ("ec", ("pem", "der", "jwk-json", "jwk-json-compact", "openssh")),
        ("ed", ("pem", "der", "jwk-json", "openssh")),
    )
    for spelling in spellings
    for hs_alg in ("HS256", "HS512")
    for allow in ("strict-allowlist", "allowlist-includes-hs")
]


@pytest.mark.parametrize(
    ("family", "spelling", "hs_alg", "allow"),
    CONFUSION_CASES,
    ids=["-".join(c) for c in CONFUSION_CASES],
)
def test_hmac_keyed_with_public_key(
    keys: Keys,
    make_verifier: MakeVerifier,
    refused: Refused,
    family: str,
    spelling: str,
    hs_alg: str,
    allow: str,
) -> None:
    issuer_key: SigningKey = getattr(keys, family)
    secret = public_key_spellings(issuer_key)[spelling]
    algorithms = frozenset({issuer_key.alg})
    if allow == "allowlist-includes-hs":  # an operator mistake must still not enable the attack
        algorithms |= {hs_alg}
    verifier = make_verifier(issuer_key, algorithms=algorithms)
    forger = SigningKey(issuer_key.kid, hs_alg, secret)
    token = encode(forger, okta_claims(), alg=hs_alg, kid=issuer_key.kid)
    assert refused(verifier, token) is ErrorCode.UNSUPPORTED_ALGORITHM
    kidless = encode(forger, okta_claims(), alg=hs_alg, no_kid=True)
    assert refused(verifier, kidless) is ErrorCode.UNSUPPORTED_ALGORITHM


@pytest.mark.parametrize("family", ["rsa", "ec", "ed"])
@pytest.mark.parametrize("spelling", ["pem", "der", "jwk-json", "openssh"])
def test_public_key_refused_as_hmac_secret(keys: Keys, family: str, spelling: str) -> None:
    secret = public_key_spellings(getattr(keys, family))[spelling]
    with pytest.raises(KeyImportError, match="HMAC secret"):
        VerificationKey.from_secret(secret, kid="confused")


@pytest.mark.parametrize("family", ["rsa", "ec", "ed"])
def test_pem_configured_key_never_verifies_hmac(
    keys: Keys, clock: Any, refused: Refused, family: str
) -> None:
    issuer_key: SigningKey = getattr(keys, family)
    pem = public_key_spellings(issuer_key)["pem"]
    source = StaticKeys(KeySet((VerificationKey.from_pem(pem),)), description="pem")
    cfg = IssuerConfig(
        issuer=okta_claims()["iss"],
        keys=source,
        algorithms=frozenset({issuer_key.alg, "HS256"}),
        audiences=(okta_claims()["aud"],),
    )
    verifier = TokenVerifier([cfg], clock=clock)
    token = encode(SigningKey("x", "HS256", pem), okta_claims(), alg="HS256", no_kid=True)
    assert refused(verifier, token) is ErrorCode.UNSUPPORTED_ALGORITHM


# -- ECDSA psychic signatures and malformed r‖s ----------------------------------------------------
def _ec_signature(r: int, s: int) -> str:
    return b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(_ec_signature(0, 0), id="r=s=0"),
        pytest.param(_ec_signature(P256_ORDER, P256_ORDER), id="r=s=n"),
        pytest.param(_ec_signature(0, 1), id="r=0"),
        pytest.param(_ec_signature(1, 0), id="s=0"),
        pytest.param(b64(b"\x00" * 63), id="63-bytes"),
        pytest.param(b64(b"\x00" * 65), id="65-bytes"),
    ],
)
def test_es256_degenerate_signature(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, signature: str
) -> None:
    token = encode(keys.ec, okta_claims()).rsplit(".", 1)[0] + "." + signature
    assert refused(make_verifier(keys.ec), token) is ErrorCode.INVALID_SIGNATURE


def test_es256_der_encoded_signature_refused(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused
) -> None:
    """JOSE wants raw r‖s (RFC 7518 §3.4); a DER signature from the right key is still refused."""
    from cryptography.hazmat.primitives.asymmetric import ec

    header_payload = encode(keys.ec, okta_claims()).rsplit(".", 1)[0]
    der = keys.ec.private.sign(header_payload.encode(), ec.ECDSA(hashes.SHA256()))
    token = f"{header_payload}.{b64(der)}"
    assert refused(make_verifier(keys.ec), token) is ErrorCode.INVALID_SIGNATURE


# -- PS/RS and family mix-ups -----------------------------------------------------------------------
def _rsa_sign(key: SigningKey, message: bytes, scheme: str) -> bytes:
    pad: padding.AsymmetricPadding = (
        padding.PKCS1v15()
        if scheme == "pkcs1"
        else padding.PSS(padding.MGF1(hashes.SHA256()), hashes.SHA256.digest_size)
    )
    return key.private.sign(message, pad, hashes.SHA256())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("key_name", "header_alg", "scheme", "allowed", "expected"),
    [
        # the JWK pins RS256: a PS256 token from the very same key is not for this key
        ("rsa", "PS256", "pss", {"RS256", "PS256"}, ErrorCode.UNSUPPORTED_ALGORITHM),
        # allow-list RS256 only: a PS256 token is refused before any key is touched
        ("rsa_no_alg", "PS256", "pss", {"RS256"}, ErrorCode.UNSUPPORTED_ALGORITHM),
        # header says PS256, bytes are PKCS#1 v1.5 (and vice versa): the padding is checked
        ("rsa_no_alg", "PS256", "pkcs1", {"RS256", "PS256"}, ErrorCode.INVALID_SIGNATURE),
        ("rsa_no_alg", "RS256", "pss", {"RS256", "PS256"}, ErrorCode.INVALID_SIGNATURE),
        # the hash is checked too: RS384 header over an RS256 signature
        ("rsa_no_alg", "RS384", "pkcs1", {"RS256", "RS384"}, ErrorCode.INVALID_SIGNATURE),
    ],
    ids=[
        "jwk-pins-RS256-token-PS256",
        "allowlist-RS256-token-PS256",
        "header-PS256-pkcs1-bytes",
        "header-RS256-pss-bytes",
        "header-RS384-rs256-bytes",
    ],
)
def test_ps_rs_mixups(
    keys: Keys,
    make_verifier: MakeVerifier,
    refused: Refused,
    key_name: str,
    header_alg: str,
    scheme: str,
    allowed: set[str],
    expected: ErrorCode,
) -> None:
    key: SigningKey = getattr(keys, key_name)
    verifier = make_verifier(key, algorithms=frozenset(allowed))
    header = {"alg": header_alg, "typ": "JWT", "kid": key.kid}
    header_payload = encode(None, okta_claims(), header=header).rsplit(".", 1)[0]
    signature = _rsa_sign(key, header_payload.encode(), scheme)
    assert refused(verifier, f"{header_payload}.{b64(signature)}") is expected


def test_alg_less_rsa_key_verifies_both_paddings_when_allowed(
    keys: Keys, make_verifier: MakeVerifier
) -> None:
    """Control for the mix-up cases: the same key, honestly labelled, passes."""
    key = keys.rsa_no_alg
    verifier = make_verifier(key, algorithms=frozenset({"RS256", "PS256"}))
    assert verifier.verify(encode(key, okta_claims(), alg="RS256")).subject
    assert verifier.verify(encode(key, okta_claims(), alg="PS256")).subject


@pytest.mark.parametrize(
    ("key_name", "header_alg"),
    [("ec", "ES384"), ("ec", "EdDSA"), ("ed", "ES256"), ("rsa", "ES256"), ("ec", "RS256")],
    ids=lambda v: str(v),
)
def test_family_mixups(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, key_name: str, header_alg: str
) -> None:
    key: SigningKey = getattr(keys, key_name)
    verifier = make_verifier(key, algorithms=frozenset({key.alg, header_alg}))
    header_payload = encode(None, okta_claims(), header={"alg": header_alg, "kid": key.kid}).rsplit(
        ".", 1
    )[0]
    token = f"{header_payload}.{b64(key.sign(header_payload.encode()))}"
    assert refused(verifier, token) is ErrorCode.UNSUPPORTED_ALGORITHM


@pytest.mark.parametrize(
    "alg", ["HS1", "RS1", "ES256K", "ES512", "RSA-OAEP", "", "rs256", "RS256 ", "HS256\u0000"]
)
def test_unknown_or_miscased_algorithms(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, alg: str
) -> None:
    header_payload = encode(None, okta_claims(), header={"alg": alg, "kid": keys.rsa.kid}).rsplit(
        ".", 1
    )[0]
    token = f"{header_payload}.{b64(keys.rsa.sign(header_payload.encode()))}"
    assert refused(make_verifier(keys.rsa), token) is ErrorCode.UNSUPPORTED_ALGORITHM


@pytest.mark.parametrize("alg", [None, 256, ["RS256"], {"RS256": 1}], ids=repr)
def test_alg_not_a_string(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, alg: object
) -> None:
    header: dict[str, Any] = {"kid": keys.rsa.kid}
    if alg is not None:
        header["alg"] = alg
    header_payload = encode(None, okta_claims(), header=header).rsplit(".", 1)[0]
    token = f"{header_payload}.{b64(keys.rsa.sign(header_payload.encode()))}"
    assert refused(make_verifier(keys.rsa), token) is ErrorCode.MALFORMED_TOKEN


# -- weak RSA keys ---------------------------------------------------------------------------------
def test_rsa_1024_in_jwks_is_skipped(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused
) -> None:
    doc = jwks(keys.rsa, keys.rsa_1024)
    skipped = dict(KeySet.from_jwks(doc).skipped)
    assert "2048" in skipped["rsa-weak"]
    verifier = make_verifier(keys.rsa, jwks_doc=doc)
    assert refused(verifier, encode(keys.rsa_1024, okta_claims())) is ErrorCode.UNKNOWN_KEY
    # without a kid the one usable key is chosen, and the weak key's signature fails on it
    kidless = encode(keys.rsa_1024, okta_claims(), no_kid=True)
    assert refused(verifier, kidless) is ErrorCode.INVALID_SIGNATURE


def test_rsa_1024_alone_cannot_configure_an_issuer(keys: Keys) -> None:
    from authgate.errors import ConfigError

    with pytest.raises(ConfigError, match="no usable keys"):
        StaticKeys(KeySet.from_jwks(jwks(keys.rsa_1024)), description="weak")
    pem = keys.rsa_1024.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyImportError, match="1024 bits"):
        VerificationKey.from_pem(pem)


def test_short_hmac_secret_refused() -> None:
    short = hs_key("hs-short", secret=b"s" * 31)
    key_set = KeySet.from_jwks(jwks(short))
    assert not key_set.keys
    assert "32 bytes" in dict(key_set.skipped)["hs-short"]
    with pytest.raises(KeyImportError, match="32 bytes"):
        VerificationKey.from_secret(b"s" * 31)
