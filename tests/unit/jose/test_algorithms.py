"""Algorithm rules (RFC 7518 §3, RFC 8037 §3.1): which key may verify what, and the verifiers."""

from __future__ import annotations

import hmac
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from authgate.errors import AuthError, ErrorCode
from authgate.jose import SUPPORTED, VerificationKey, algorithms_for_key, check_allowed, verify

MESSAGE = b"eyJhbGciOiJ0ZXN0In0.eyJzdWIiOiJhbGljZSJ9"


@pytest.fixture(scope="module")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_key(rsa_private: rsa.RSAPrivateKey) -> VerificationKey:
    return VerificationKey(
        "r", "RSA", algorithms_for_key("RSA", rsa_private.public_key()), rsa_private.public_key()
    )


def test_supported_set() -> None:
    assert {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "EdDSA",
        "Ed25519",
        "HS256",
        "HS384",
        "HS512",
    } == SUPPORTED


@pytest.mark.parametrize(
    ("kty", "key", "expected"),
    [
        ("EC", ec.generate_private_key(ec.SECP256R1()).public_key(), {"ES256"}),
        ("EC", ec.generate_private_key(ec.SECP384R1()).public_key(), {"ES384"}),
        ("EC", ec.generate_private_key(ec.SECP521R1()).public_key(), set()),
        ("EC", ec.generate_private_key(ec.SECP256K1()).public_key(), set()),
        ("OKP", ed25519.Ed25519PrivateKey.generate().public_key(), {"EdDSA", "Ed25519"}),
        ("oct", b"k" * 31, set()),
        ("oct", b"k" * 32, {"HS256"}),
        ("oct", b"k" * 47, {"HS256"}),
        ("oct", b"k" * 48, {"HS256", "HS384"}),
        ("oct", b"k" * 64, {"HS256", "HS384", "HS512"}),
        ("RSA", b"k" * 64, set()),
        ("oct", ed25519.Ed25519PrivateKey.generate().public_key(), set()),
        ("OKP", b"k" * 64, set()),
        ("oct", "k" * 64, set()),
    ],
    ids=[
        "P-256",
        "P-384",
        "P-521",
        "secp256k1",
        "Ed25519",
        "oct-31",
        "oct-32",
        "oct-47",
        "oct-48",
        "oct-64",
        "RSA-kty-with-bytes",
        "oct-kty-with-ed25519",
        "OKP-kty-with-bytes",
        "oct-str-not-bytes",
    ],
)
def test_algorithms_for_key(kty: str, key: Any, expected: set[str]) -> None:
    assert algorithms_for_key(kty, key) == expected


def test_rsa_algorithms_need_2048_bits(rsa_private: rsa.RSAPrivateKey) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    assert algorithms_for_key("RSA", weak) == set()
    assert len(algorithms_for_key("RSA", rsa_private.public_key())) == 6
    assert algorithms_for_key("oct", rsa_private.public_key()) == set()


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
def test_rsa_verifiers(rsa_private: rsa.RSAPrivateKey, rsa_key: VerificationKey, alg: str) -> None:
    hash_alg = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[alg[2:]]
    pad: padding.AsymmetricPadding = padding.PKCS1v15()
    if alg.startswith("PS"):
        pad = padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=hash_alg.digest_size)
    signature = rsa_private.sign(MESSAGE, pad, hash_alg)
    assert verify(alg, rsa_key, MESSAGE, signature)
    assert not verify(alg, rsa_key, MESSAGE + b"x", signature)
    assert not verify(alg, rsa_key, MESSAGE, signature[:-1])
    assert not verify(alg, rsa_key, MESSAGE, b"\x00" + signature)
    other = "RS256" if alg.startswith("PS") else "PS256"
    assert not verify(other, rsa_key, MESSAGE, signature)


def test_pss_salt_length_must_equal_the_hash_length(
    rsa_private: rsa.RSAPrivateKey, rsa_key: VerificationKey
) -> None:
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
    assert not verify("PS256", rsa_key, MESSAGE, rsa_private.sign(MESSAGE, pss, hashes.SHA256()))


@pytest.mark.parametrize(
    ("curve", "alg", "digest"),
    [(ec.SECP256R1(), "ES256", hashes.SHA256()), (ec.SECP384R1(), "ES384", hashes.SHA384())],
)
def test_ecdsa_verifier_takes_raw_r_s(
    curve: ec.EllipticCurve, alg: str, digest: hashes.HashAlgorithm
) -> None:
    private = ec.generate_private_key(curve)
    key = VerificationKey(None, "EC", frozenset({alg}), private.public_key())
    der = private.sign(MESSAGE, ec.ECDSA(digest))
    r, s = decode_dss_signature(der)
    size = (curve.key_size + 7) // 8
    raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    assert verify(alg, key, MESSAGE, raw)
    assert not verify(alg, key, MESSAGE, der)  # DER is not the JWS encoding
    assert not verify(alg, key, MESSAGE, raw + b"\x00")
    assert not verify(alg, key, MESSAGE, bytes(2 * size))
    n_bytes = _order(alg).to_bytes(size, "big")
    assert not verify(alg, key, MESSAGE, n_bytes + s.to_bytes(size, "big"))
    assert not verify(alg, key, MESSAGE, r.to_bytes(size, "big") + n_bytes)


def _order(alg: str) -> int:
    if alg == "ES256":
        return 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    return int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    )


def test_eddsa_verifier() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    key = VerificationKey(None, "OKP", frozenset({"EdDSA", "Ed25519"}), private.public_key())
    signature = private.sign(MESSAGE)
    assert verify("EdDSA", key, MESSAGE, signature)
    assert verify("Ed25519", key, MESSAGE, signature)
    assert not verify("EdDSA", key, MESSAGE, signature[:63])
    assert not verify("EdDSA", key, MESSAGE + b"!", signature)


@pytest.mark.parametrize(
    ("alg", "digest"), [("HS256", "sha256"), ("HS384", "sha384"), ("HS512", "sha512")]
)
def test_hmac_verifier_needs_the_full_tag(alg: str, digest: str) -> None:
    secret = b"k" * 64
    key = VerificationKey.from_secret(secret)
    tag = hmac.digest(secret, MESSAGE, digest)
    assert verify(alg, key, MESSAGE, tag)
    assert not verify(alg, key, MESSAGE, tag[:16])  # truncated tags are refused
    assert not verify(alg, key, MESSAGE, tag + b"\x00")
    assert not verify(alg, key, MESSAGE, bytes(len(tag)))


def test_verify_is_false_for_an_algorithm_the_key_may_not_use(rsa_key: VerificationKey) -> None:
    assert not verify("HS256", rsa_key, MESSAGE, b"x" * 32)
    assert not verify("ES256", rsa_key, MESSAGE, b"x" * 64)


def test_check_allowed_refuses_three_ways(rsa_key: VerificationKey) -> None:
    allowed = frozenset({"RS256", "HS256"})
    check_allowed("RS256", allowed, rsa_key)
    details = []
    for alg in ("XS999", "PS256", "HS256"):
        with pytest.raises(AuthError) as info:
            check_allowed(alg, allowed, rsa_key)
        assert info.value.code is ErrorCode.UNSUPPORTED_ALGORITHM
        details.append(info.value.detail)
    assert "not supported by authgate" in details[0]
    assert "allow-list" in details[1]
    assert "cannot be used with key kid='r'" in details[2]
