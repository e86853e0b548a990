"""Wycheproof vectors (C2SP, testvectors_v1) through authgate's own verify path, in-process.

Signature primitives go through ``algorithms.verify`` with keys imported by ``VerificationKey``;
JWS and JWK files go through ``split_compact``/``decode_compact``/``verify_signature`` and
``KeySet.from_jwks``. Every ``valid`` vector is accepted and every ``invalid`` one refused,
except the deliberate refusals listed below with their reason (each asserted to be refused) and
vector defects (each asserted to be what we say it is). ``acceptable`` outcomes are pinned.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from authgate.errors import AuthError, ErrorCode
from authgate.jose import (
    SUPPORTED,
    CompactJWS,
    KeyImportError,
    KeySet,
    VerificationKey,
    algorithms,
    decode_compact,
    split_compact,
    verify_signature,
)

WYCHEPROOF = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "wycheproof"

# file -> JWS algorithm whose primitive the file exercises
PRIMITIVES = {
    "ecdsa_secp256r1_sha256_p1363_test.json": "ES256",
    "ecdsa_secp384r1_sha384_p1363_test.json": "ES384",
    "ed25519_test.json": "EdDSA",
    "rsa_signature_2048_sha256_test.json": "RS256",
    "rsa_pss_2048_sha256_mgf1_32_test.json": "PS256",
    "hmac_sha256_test.json": "HS256",
}
JOSE_FILES = ("json_web_signature_test.json", "json_web_key_test.json")

# Vectors Wycheproof calls valid that authgate refuses on purpose, and why.
DELIBERATE: dict[str, str] = {
    "json_web_signature_test.json:346": "JWK says alg PS256; a PS384 token is refused (alg narrows)",
    "json_web_signature_test.json:350": "JWK says alg PS256; a PS384 token is refused (alg narrows)",
    "json_web_signature_test.json:347": "P-521 / ES512 is not supported",
    "json_web_signature_test.json:351": "P-521 / ES512 is not supported",
    "json_web_signature_test.json:372": "'?' is outside base64url: strict decoding refuses it",
    "json_web_signature_test.json:373": "'?' is outside base64url: strict decoding refuses it",
}
HMAC_SHORT_KEY = "HMAC keys shorter than 32 bytes are refused (RFC 7518 §3.2)"
HMAC_TRUNCATED = "truncated HMAC tags are refused: JWS uses the full tag (RFC 7518 §3.2)"

# Vectors marked invalid whose bytes are identical to a valid vector (the padding the name
# promises was lost upstream); they are accepted, and the test proves the bytes are the same.
DEFECTS = {
    "json_web_signature_test.json:367": "json_web_signature_test.json:357",
    "json_web_signature_test.json:370": "json_web_signature_test.json:357",
}

# ``acceptable`` vectors: our pinned outcome and why.
ACCEPTABLE: dict[str, tuple[bool, str]] = {
    "rsa_signature_2048_sha256_test.json:8": (False, "PKCS#1 DigestInfo without NULL: refused"),
}


class Case(NamedTuple):
    file: str
    tc_id: int
    result: str
    group: dict[str, Any]
    test: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.file}:{self.tc_id}"


@cache
def load(file: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((WYCHEPROOF / file).read_text())
    return data


def cases(files: tuple[str, ...] | Any) -> Iterator[Case]:
    for file in files:
        for group in load(file)["testGroups"]:
            for test in group["tests"]:
                yield Case(file, test["tcId"], test["result"], group, test)


def deliberate_reason(case: Case) -> str | None:
    if case.file == "hmac_sha256_test.json":
        if case.group["keySize"] < 256:
            return HMAC_SHORT_KEY
        if case.group["tagSize"] < 256:
            return HMAC_TRUNCATED
    return DELIBERATE.get(case.name)


def expected_outcome(case: Case) -> bool:
    if case.name in DEFECTS:
        return True
    if deliberate_reason(case) is not None:
        return False
    if case.result == "acceptable":
        return ACCEPTABLE[case.name][0]
    return case.result == "valid"


def primitive_accepts(case: Case) -> bool:
    alg = PRIMITIVES[case.file]
    test = case.test
    try:
        if alg == "HS256":
            key = VerificationKey.from_secret(bytes.fromhex(test["key"]))
        else:
            key = VerificationKey.from_pem(case.group["publicKeyPem"])
    except KeyImportError:
        return False
    signature = bytes.fromhex(test["tag"] if alg == "HS256" else test["sig"])
    return algorithms.verify(alg, key, bytes.fromhex(test["msg"]), signature)


def jose_key_set(case: Case) -> KeySet:
    material = case.group.get("public", case.group["private"])
    return KeySet.from_jwks(material if "keys" in material else {"keys": [material]})


def jws_accepts(token: Any, keys: KeySet) -> bool:
    if not isinstance(token, str):  # JSON serialization: compact only
        token = json.dumps(token)
    try:
        header, _, signing_input, signature = split_compact(token)
        jws = CompactJWS(header, {}, signing_input, signature)
        verify_signature(jws, keys, SUPPORTED)
    except AuthError:
        return False
    return True


ALL_CASES = [*cases(PRIMITIVES), *cases(JOSE_FILES)]


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_vector(case: Case) -> None:
    if case.file in PRIMITIVES:
        accepted = primitive_accepts(case)
    else:
        accepted = jws_accepts(case.test["jws"], jose_key_set(case))
    assert accepted is expected_outcome(case), deliberate_reason(case) or case.test["comment"]


def test_every_listed_exception_exists_and_is_still_needed() -> None:
    by_name = {c.name: c for c in ALL_CASES}
    for name in DELIBERATE:
        assert by_name[name].result == "valid", name
    for name, twin in DEFECTS.items():
        assert by_name[name].result == "invalid"
        assert by_name[twin].result == "valid"
        assert by_name[name].test["jws"] == by_name[twin].test["jws"], name
    for name in ACCEPTABLE:
        assert by_name[name].result == "acceptable"
    acceptable = {c.name for c in ALL_CASES if c.result == "acceptable"}
    assert acceptable == set(ACCEPTABLE)
    assert len(ALL_CASES) == sum(load(f)["numberOfTests"] for f in (*PRIMITIVES, *JOSE_FILES))


@pytest.mark.parametrize("file", [f for f in PRIMITIVES if f != "hmac_sha256_test.json"])
def test_vector_jwks_import_to_the_same_key_as_the_pem(file: str) -> None:
    groups = [g for g in load(file)["testGroups"] if g.get("publicKeyJwk") or g.get("keyJwk")]
    assert groups
    for group in groups:
        from_pem = VerificationKey.from_pem(group["publicKeyPem"])
        from_jwk = VerificationKey.from_jwk(group.get("publicKeyJwk") or group["keyJwk"])
        assert from_jwk.algorithms <= from_pem.algorithms
        assert from_jwk.key == from_pem.key


def test_valid_jws_vectors_without_a_json_payload_are_not_jwts() -> None:
    """decode_compact is the JWT entry point: a JWS whose payload is not an object is refused."""
    checked = 0
    for case in cases(JOSE_FILES):
        if expected_outcome(case) and case.name not in DEFECTS:
            with pytest.raises(AuthError) as info:
                decode_compact(case.test["jws"])
            assert info.value.code is ErrorCode.MALFORMED_TOKEN
            assert "payload" in info.value.detail
            checked += 1
    assert checked > 40
