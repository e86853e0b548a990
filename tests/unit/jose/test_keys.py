"""Key import (RFC 7517 §4-5, RFC 7518 §6): what we accept, what we refuse and why."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from authgate.jose import KeyImportError, KeySet, VerificationKey

RSA_ALGS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def spki(private: Any, encoding: serialization.Encoding = serialization.Encoding.PEM) -> bytes:
    data: bytes = private.public_key().public_bytes(
        encoding, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


def certificate(private: Any) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.example")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(private, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_jwk(rsa_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    numbers = rsa_key.public_key().public_numbers()
    return {"kty": "RSA", "kid": "r1", "n": uint(numbers.n), "e": uint(numbers.e)}


def ec_jwk(curve: ec.EllipticCurve, crv: str) -> dict[str, Any]:
    numbers = ec.generate_private_key(curve).public_key().public_numbers()
    size = (curve.key_size + 7) // 8
    return {
        "kty": "EC",
        "crv": crv,
        "x": b64(numbers.x.to_bytes(size, "big")),
        "y": b64(numbers.y.to_bytes(size, "big")),
    }


# --- JWK --------------------------------------------------------------------------------------


def test_rsa_jwk_allows_every_rsa_algorithm(rsa_jwk: dict[str, Any]) -> None:
    key = VerificationKey.from_jwk(rsa_jwk)
    assert (key.kid, key.kty, key.algorithms) == ("r1", "RSA", RSA_ALGS)
    assert isinstance(key.key, rsa.RSAPublicKey)


def test_jwk_alg_narrows_the_algorithms(rsa_jwk: dict[str, Any]) -> None:
    assert VerificationKey.from_jwk({**rsa_jwk, "alg": "PS256"}).algorithms == {"PS256"}


@pytest.mark.parametrize("alg", ["ES256", "HS256", "RSA-OAEP", "none", 5])
def test_jwk_alg_the_key_cannot_do_is_refused(rsa_jwk: dict[str, Any], alg: Any) -> None:
    with pytest.raises(KeyImportError, match="declares alg"):
        VerificationKey.from_jwk({**rsa_jwk, "alg": alg})


@pytest.mark.parametrize(
    ("curve", "crv", "alg"),
    [(ec.SECP256R1(), "P-256", "ES256"), (ec.SECP384R1(), "P-384", "ES384")],
)
def test_ec_jwk_gets_exactly_its_curve_algorithm(
    curve: ec.EllipticCurve, crv: str, alg: str
) -> None:
    assert VerificationKey.from_jwk(ec_jwk(curve, crv)).algorithms == {alg}


def test_ec_jwk_on_an_unsupported_curve_is_refused() -> None:
    with pytest.raises(KeyImportError, match="P-521"):
        VerificationKey.from_jwk(ec_jwk(ec.SECP521R1(), "P-521"))


def test_ec_jwk_point_off_the_curve_is_refused() -> None:
    jwk = ec_jwk(ec.SECP256R1(), "P-256")
    jwk["y"] = b64(bytes(31) + b"\x01")
    with pytest.raises(KeyImportError, match="not on curve"):
        VerificationKey.from_jwk(jwk)


def test_ec_jwk_with_wrong_coordinate_size_is_refused() -> None:
    jwk = ec_jwk(ec.SECP256R1(), "P-256")
    jwk["crv"] = "P-384"
    with pytest.raises(KeyImportError, match="48 bytes"):
        VerificationKey.from_jwk(jwk)


def test_okp_ed25519_jwk() -> None:
    raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    key = VerificationKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64(raw)})
    assert key.algorithms == {"EdDSA", "Ed25519"}


@pytest.mark.parametrize("crv", ["Ed448", "X25519"])
def test_other_okp_curves_are_refused(crv: str) -> None:
    with pytest.raises(KeyImportError, match="not supported"):
        VerificationKey.from_jwk({"kty": "OKP", "crv": crv, "x": b64(bytes(32))})


@pytest.mark.parametrize(
    ("size", "algs"),
    [(32, {"HS256"}), (48, {"HS256", "HS384"}), (64, {"HS256", "HS384", "HS512"})],
)
def test_oct_jwk_algorithms_follow_rfc7518_key_sizes(size: int, algs: set[str]) -> None:
    key = VerificationKey.from_jwk({"kty": "oct", "k": b64(b"k" * size)})
    assert key.algorithms == algs
    assert "k" * size not in repr(key)


@pytest.mark.parametrize("size", [0, 16, 31])
def test_short_oct_jwk_is_refused(size: int) -> None:
    with pytest.raises(KeyImportError, match=f"{size} bytes"):
        VerificationKey.from_jwk({"kty": "oct", "k": b64(b"k" * size)})


def test_hs512_on_a_48_byte_key_is_refused() -> None:
    with pytest.raises(KeyImportError, match="declares alg"):
        VerificationKey.from_jwk({"kty": "oct", "k": b64(b"k" * 48), "alg": "HS512"})


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth"])
def test_jwk_with_private_members_is_refused(rsa_jwk: dict[str, Any], member: str) -> None:
    with pytest.raises(KeyImportError, match="private key members"):
        VerificationKey.from_jwk({**rsa_jwk, member: "AQAB"})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"use": "enc"}, "use='enc'"),
        ({"key_ops": ["encrypt"]}, "key_ops"),
        ({"key_ops": "verify"}, "key_ops"),
        ({"kid": 7}, "kid must be a string"),
        ({"kid": "k" * 257}, "kid must be a string"),
        ({"kty": "RSA-PSS"}, "not supported"),
        ({"kty": None}, "not supported"),
        ({"n": 12}, "'n' is missing"),
        ({"n": "AQAB="}, "not canonical base64url"),
        ({"e": "AQ"}, "invalid modulus or exponent"),
        ({"e": "Ag"}, "invalid modulus or exponent"),
    ],
)
def test_bad_jwk_members_are_refused(
    rsa_jwk: dict[str, Any], extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(KeyImportError, match=message.replace("(", r"\(")):
        VerificationKey.from_jwk({**rsa_jwk, **extra})


def test_use_sig_and_key_ops_verify_are_fine(rsa_jwk: dict[str, Any]) -> None:
    key = VerificationKey.from_jwk({**rsa_jwk, "use": "sig", "key_ops": ["verify"]})
    assert key.use == "sig"


def test_jwk_must_be_an_object() -> None:
    with pytest.raises(KeyImportError, match="JSON object"):
        VerificationKey.from_jwk(["not", "a", "jwk"])  # type: ignore[arg-type]


def test_weak_rsa_key_is_refused() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    numbers = weak.public_key().public_numbers()
    with pytest.raises(KeyImportError, match="1024 bits; at least 2048"):
        VerificationKey.from_jwk({"kty": "RSA", "n": uint(numbers.n), "e": uint(numbers.e)})
    with pytest.raises(KeyImportError, match="1024 bits"):
        VerificationKey.from_pem(spki(weak))


# --- PEM / DER / certificates ---------------------------------------------------------------------


def test_pem_der_and_certificates_import_the_same_key(rsa_key: rsa.RSAPrivateKey) -> None:
    cert = certificate(rsa_key)
    forms = [
        spki(rsa_key),
        spki(rsa_key).decode(),
        spki(rsa_key, serialization.Encoding.DER),
        cert.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.DER),
    ]
    expected = rsa_key.public_key().public_numbers()
    for form in forms:
        key = VerificationKey.from_pem(form, kid="c")
        assert key.algorithms == RSA_ALGS
        assert isinstance(key.key, rsa.RSAPublicKey)
        assert key.key.public_numbers() == expected


@pytest.mark.parametrize(
    ("private", "kty", "algs"),
    [
        (ec.generate_private_key(ec.SECP256R1()), "EC", {"ES256"}),
        (ec.generate_private_key(ec.SECP384R1()), "EC", {"ES384"}),
        (ed25519.Ed25519PrivateKey.generate(), "OKP", {"EdDSA", "Ed25519"}),
    ],
)
def test_pem_kty_comes_from_the_key(private: Any, kty: str, algs: set[str]) -> None:
    key = VerificationKey.from_pem(spki(private))
    assert (key.kty, key.algorithms) == (kty, algs)


@pytest.mark.parametrize(
    "private",
    [
        ec.generate_private_key(ec.SECP521R1()),
        ec.generate_private_key(ec.SECP256K1()),
        ed448.Ed448PrivateKey.generate(),
        dsa.generate_private_key(2048),
    ],
    ids=["P-521", "secp256k1", "Ed448", "DSA"],
)
def test_unsupported_public_keys_are_refused(private: Any) -> None:
    with pytest.raises(KeyImportError):
        VerificationKey.from_pem(spki(private))


def test_private_key_pem_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    private_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(KeyImportError, match="private key"):
        VerificationKey.from_pem(private_pem)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----\n",
        b"\x30\x03\x02\x01\x00",
    ],
)
def test_garbage_is_not_a_key(data: bytes) -> None:
    with pytest.raises(KeyImportError, match="not a PEM/DER"):
        VerificationKey.from_pem(data)


# --- shared secrets (PyJWT CVE-2022-29217) ---------------------------------------------------------


def test_secret_of_32_bytes_or_more_is_accepted() -> None:
    assert VerificationKey.from_secret("x" * 32, kid="s").algorithms == {"HS256"}
    assert VerificationKey.from_secret(b"x" * 64).algorithms == {"HS256", "HS384", "HS512"}


def test_short_secret_is_refused() -> None:
    with pytest.raises(KeyImportError, match="31 bytes; at least 32"):
        VerificationKey.from_secret(b"x" * 31)


def test_public_keys_in_any_spelling_are_refused_as_secrets(rsa_key: rsa.RSAPrivateKey) -> None:
    numbers = rsa_key.public_key().public_numbers()
    spellings: list[bytes | str] = [
        spki(rsa_key),
        spki(rsa_key).decode(),
        b"\n  " + spki(rsa_key),
        spki(rsa_key, serialization.Encoding.DER),
        certificate(rsa_key).public_bytes(serialization.Encoding.PEM),
        certificate(rsa_key).public_bytes(serialization.Encoding.DER),
        rsa_key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        json.dumps({"kty": "RSA", "n": uint(numbers.n), "e": "AQAB"}),
    ]
    for secret in spellings:
        with pytest.raises(KeyImportError, match="must never be used as an HMAC secret"):
            VerificationKey.from_secret(secret)


def test_constructor_refuses_an_asymmetric_key_as_oct(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(KeyImportError):
        VerificationKey("k", "oct", frozenset({"HS256"}), rsa_key.public_key())
    with pytest.raises(KeyImportError):
        VerificationKey("k", "RSA", frozenset({"HS256"}), b"x" * 64)


# --- key sets -----------------------------------------------------------------------------------------


def test_jwks_imports_good_keys_and_records_the_refused_ones(rsa_jwk: dict[str, Any]) -> None:
    ec_key = {**ec_jwk(ec.SECP256R1(), "P-256"), "kid": "e1"}
    jwks = {
        "keys": [
            rsa_jwk,
            ec_key,
            {**ec_jwk(ec.SECP256R1(), "P-256"), "kid": "enc", "use": "enc"},
            {**ec_jwk(ec.SECP521R1(), "P-521"), "kid": "big"},
            {**rsa_jwk, "kid": "priv", "d": "AQAB"},
            "not an object",
        ]
    }
    keys = KeySet.from_jwks(jwks)
    assert keys.kids == {"r1", "e1"}
    assert [kid for kid, _ in keys.skipped] == ["enc", "big", "priv", None]
    assert all(reason for _, reason in keys.skipped)
    assert keys.get("e1") is not None
    assert keys.get("e1").algorithms == {"ES256"}  # type: ignore[union-attr]
    assert keys.get("nope") is None
    assert keys.only_key() is None
    assert [k.kid for k in keys.usable_for("ES256")] == ["e1"]


@pytest.mark.parametrize("doc", [[], {}, {"keys": {}}, {"keys": "x"}, "jwks"])
def test_a_document_that_is_not_a_jwks_is_refused(doc: Any) -> None:
    with pytest.raises(KeyImportError, match="not a JWKS"):
        KeySet.from_jwks(doc)


def test_duplicate_kids_are_all_refused(rsa_jwk: dict[str, Any]) -> None:
    other = {**ec_jwk(ec.SECP256R1(), "P-256"), "kid": "r1"}
    keys = KeySet.from_jwks({"keys": [rsa_jwk, other]})
    assert keys.keys == ()
    assert [kid for kid, _ in keys.skipped] == ["r1", "r1"]


def test_symmetric_keys_next_to_public_keys_are_refused(rsa_jwk: dict[str, Any]) -> None:
    keys = KeySet.from_jwks({"keys": [rsa_jwk, {"kty": "oct", "kid": "h", "k": b64(b"k" * 32)}]})
    assert keys.kids == {"r1"}
    assert keys.skipped[0][0] == "h"


def test_only_key_and_kidless_keys(rsa_jwk: dict[str, Any]) -> None:
    without_kid = {k: v for k, v in rsa_jwk.items() if k != "kid"}
    keys = KeySet.from_jwks({"keys": [without_kid]})
    assert keys.only_key() is keys.keys[0]
    assert keys.kids == frozenset()


def test_direct_construction_refuses_duplicate_kids(rsa_jwk: dict[str, Any]) -> None:
    key = VerificationKey.from_jwk(rsa_jwk)
    with pytest.raises(KeyImportError, match="share kid"):
        KeySet((key, key))
