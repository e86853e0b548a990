"""Strict compact JWS parsing and signature selection (RFC 7515 §3.1, §5.2): one test per rule."""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from authgate.errors import AuthError, ErrorCode
from authgate.jose import (
    CompactJWS,
    KeySet,
    VerificationKey,
    decode_compact,
    split_compact,
    verify_signature,
)
from authgate.jose.json import JSONError, loads_object

Signer = Callable[[bytes], bytes]
ALL = frozenset({"RS256", "PS256", "ES256", "ES384", "EdDSA", "Ed25519", "HS256"})
CLAIMS = {"iss": "https://issuer.example", "sub": "alice", "exp": 2_000_000_000}


def b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def token(
    header: dict[str, Any], sign: Signer, payload: Any = None, raw: bytes | None = None
) -> str:
    encoded_header = b64(json.dumps(header).encode())
    body = raw if raw is not None else json.dumps(CLAIMS if payload is None else payload).encode()
    signing_input = encoded_header + b"." + b64(body)
    return (signing_input + b"." + b64(sign(signing_input))).decode()


def raw_token(header: bytes, payload: bytes, signature: bytes = b"sig") -> str:
    return b".".join((b64(header), b64(payload), b64(signature))).decode()


def es_signer(private: ec.EllipticCurvePrivateKey) -> Signer:
    size = (private.curve.key_size + 7) // 8
    digest = hashes.SHA256() if size == 32 else hashes.SHA384()

    def sign(message: bytes) -> bytes:
        r, s = decode_dss_signature(private.sign(message, ec.ECDSA(digest)))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    return sign


def pem(private: Any) -> bytes:
    data: bytes = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


class Keys:
    """One key of each kind, generated once per module (RSA generation is slow)."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.p256 = ec.generate_private_key(ec.SECP256R1())
        self.p384 = ec.generate_private_key(ec.SECP384R1())
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.secret = b"s" * 32
        self.set = KeySet(
            (
                VerificationKey.from_pem(pem(self.rsa), kid="rsa"),
                VerificationKey.from_pem(pem(self.p256), kid="p256"),
                VerificationKey.from_pem(pem(self.p384), kid="p384"),
                VerificationKey.from_pem(pem(self.ed), kid="ed"),
                VerificationKey.from_secret(self.secret, kid="hs"),
            )
        )

    def rs256(self, message: bytes) -> bytes:
        return self.rsa.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def ps256(self, message: bytes) -> bytes:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return self.rsa.sign(message, pss, hashes.SHA256())

    def hs256(self, message: bytes) -> bytes:
        return hmac.digest(self.secret, message, "sha256")


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


def code_of(fn: Callable[[], object]) -> AuthError:
    with pytest.raises(AuthError) as info:
        fn()
    return info.value


# --- happy paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "kid"),
    [
        ("RS256", "rsa"),
        ("PS256", "rsa"),
        ("ES256", "p256"),
        ("ES384", "p384"),
        ("EdDSA", "ed"),
        ("Ed25519", "ed"),
        ("HS256", "hs"),
    ],
)
def test_valid_tokens_verify_with_the_key_their_kid_names(keys: Keys, alg: str, kid: str) -> None:
    signers: dict[str, Signer] = {
        "RS256": keys.rs256,
        "PS256": keys.ps256,
        "ES256": es_signer(keys.p256),
        "ES384": es_signer(keys.p384),
        "EdDSA": keys.ed.sign,
        "Ed25519": keys.ed.sign,
        "HS256": keys.hs256,
    }
    jws = decode_compact(token({"alg": alg, "kid": kid}, signers[alg]))
    assert jws.payload == CLAIMS
    assert jws.header == {"alg": alg, "kid": kid}
    assert verify_signature(jws, keys.set, ALL).kid == kid


def test_signing_input_is_the_first_two_segments(keys: Keys) -> None:
    tok = token({"alg": "HS256", "kid": "hs"}, keys.hs256)
    jws = decode_compact(tok.encode())
    assert jws.signing_input == tok.rsplit(".", 1)[0].encode()
    assert jws.signature == keys.hs256(jws.signing_input)


def test_cached_header_is_copied_so_callers_cannot_poison_it(keys: Keys) -> None:
    tok = token({"alg": "HS256", "kid": "hs"}, keys.hs256)
    decode_compact(tok).header["kid"] = "evil"
    assert decode_compact(tok).header["kid"] == "hs"


def test_split_compact_returns_a_non_json_payload_that_decode_compact_refuses(keys: Keys) -> None:
    tok = token({"alg": "HS256", "kid": "hs"}, keys.hs256, raw=b"plain text")
    header, payload, _, _ = split_compact(tok)
    assert (header["alg"], payload) == ("HS256", b"plain text")
    assert code_of(lambda: decode_compact(tok)).code is ErrorCode.MALFORMED_TOKEN


# --- size and shape ----------------------------------------------------------------------------


def test_size_cap_is_checked_before_anything_else() -> None:
    err = code_of(lambda: decode_compact("!" * 20000))
    assert err.code is ErrorCode.TOKEN_TOO_LARGE
    assert "20000" in err.detail
    assert "16384" in err.detail


def test_size_cap_is_configurable(keys: Keys) -> None:
    tok = token({"alg": "HS256", "kid": "hs"}, keys.hs256)
    assert code_of(lambda: decode_compact(tok, max_size=100)).code is ErrorCode.TOKEN_TOO_LARGE
    assert decode_compact(tok, max_size=len(tok)).payload == CLAIMS


def test_five_segments_is_a_jwe() -> None:
    err = code_of(lambda: decode_compact("a.b.c.d.e"))
    assert err.code is ErrorCode.UNSUPPORTED_TOKEN_TYPE
    assert "JWE" in err.detail


@pytest.mark.parametrize("tok", ["", "abc", "a.b", "a.b.c.d", "a.b.c.d.e.f", "."])
def test_other_segment_counts_are_malformed(tok: str) -> None:
    err = code_of(lambda: decode_compact(tok))
    assert err.code is ErrorCode.MALFORMED_TOKEN
    assert "segments" in err.detail


def test_non_ascii_token_is_malformed(keys: Keys) -> None:
    tok = token({"alg": "HS256", "kid": "hs"}, keys.hs256) + "é"
    assert code_of(lambda: decode_compact(tok)).code is ErrorCode.MALFORMED_TOKEN


# --- base64url ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h, p, s: (h, p + "=", s),  # padding
        lambda h, p, s: (h + "==", p, s),
        lambda h, p, s: (h, p, s.replace("-", "+").replace("_", "/") + "+/"),  # standard alphabet
        lambda h, p, s: (h, " " + p, s),  # whitespace
        lambda h, p, s: (h, p + "\n", s),
        lambda h, p, s: (h, p, s + "?"),  # junk
        lambda h, p, s: (
            (h + "A", p, s) if len(h) % 4 == 0 else (h + "AAAAA"[: 5 - len(h) % 4], p, s)
        ),
    ],
    ids=["padding-payload", "padding-header", "plus-slash", "space", "newline", "junk", "len%4==1"],
)
def test_non_canonical_base64url_is_malformed(keys: Keys, mutate: Any) -> None:
    h, p, s = token({"alg": "HS256", "kid": "hs"}, keys.hs256).split(".")
    tok = ".".join(mutate(h, p, s))
    assert code_of(lambda: decode_compact(tok)).code is ErrorCode.MALFORMED_TOKEN


def test_non_zero_trailing_bits_are_malformed(keys: Keys) -> None:
    h, p, _s = token({"alg": "HS256", "kid": "hs"}, keys.hs256).split(".")
    # "AB" and "AA" both decode to b"\x00": only the spelling with zero unused bits is valid.
    for sig in ("AB", "AAB", "AAAAAB"):
        tok = f"{h}.{p}.{sig}"
        assert code_of(lambda tok=tok: decode_compact(tok)).code is ErrorCode.MALFORMED_TOKEN
    assert decode_compact(f"{h}.{p}.AA").signature == b"\x00"


# --- JSON -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b'{"sub":"a","sub":"b"}',
        b'{"sub":"a","sub":"a"}',
        b'{"a":{"x":1,"x":2}}',
        b'{"a":[{"x":1},{"y":1,"y":1}]}',
        b'{"\\u0061":1,"a":2}',
        b'{"a":"q\\"","a":2}',
        b'{"a" :1, "a" :2}',
        b"\xff\xfe",
        b'{"a":"\xc3"}',
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b"[1]",
        b'"str"',
        b"",
        b'{"a":' + b'{"b":' * 40 + b"1" + b"}" * 41,
    ],
    ids=[
        "dup",
        "dup-same-value",
        "dup-nested",
        "dup-in-array",
        "dup-escaped",
        "dup-with-escapes",
        "dup-spaced",
        "not-utf8",
        "truncated-utf8",
        "nan",
        "infinity",
        "array",
        "string",
        "empty",
        "too-deep",
    ],
)
def test_payload_must_be_a_strict_json_object(payload: bytes) -> None:
    err = code_of(lambda: decode_compact(raw_token(b'{"alg":"HS256"}', payload)))
    assert err.code is ErrorCode.MALFORMED_TOKEN
    assert "payload" in err.detail


def test_duplicate_header_member_is_malformed() -> None:
    tok = raw_token(b'{"alg":"HS256","alg":"none"}', b"{}")
    assert code_of(lambda: decode_compact(tok)).code is ErrorCode.MALFORMED_TOKEN


@pytest.mark.parametrize(
    "payload",
    [
        b'{"a":":x","b":"\\":","c":[":",{"d":" :"}]}',
        b'{ "a" : 1 , "b" : { "c" : [ 1 , "x" ] } }',
        b'{"\\u00e9":1,"\xc3\xa9t\xc3\xa9":"\\"q\\""}',
        b'{"a":' + b'{"b":' * 30 + b"1" + b"}" * 31,
        b'{"a":"\\\\","b":"\\\\\\""}',
    ],
    ids=["colons-in-values", "whitespace", "escapes", "depth-32", "backslashes"],
)
def test_tricky_but_valid_json_is_accepted(payload: bytes) -> None:
    jws = decode_compact(raw_token(b'{"alg":"HS256"}', payload))
    assert jws.payload == json.loads(payload)


# --- header rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_in_any_casing_is_refused(alg: str) -> None:
    err = code_of(lambda: decode_compact(raw_token(json.dumps({"alg": alg}).encode(), b"{}", b"")))
    assert err.code is ErrorCode.UNSUPPORTED_ALGORITHM


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ({}, ErrorCode.MALFORMED_TOKEN),
        ({"alg": 256}, ErrorCode.MALFORMED_TOKEN),
        ({"alg": "RS256", "crit": ["exp"], "exp": 1}, ErrorCode.UNSUPPORTED_HEADER),
        ({"alg": "RS256", "crit": []}, ErrorCode.UNSUPPORTED_HEADER),
        ({"alg": "RS256", "b64": False, "crit": ["b64"]}, ErrorCode.UNSUPPORTED_HEADER),
        ({"alg": "RS256", "b64": False}, ErrorCode.UNSUPPORTED_HEADER),
        ({"alg": "RS256", "cty": "JWT"}, ErrorCode.UNSUPPORTED_TOKEN_TYPE),
        ({"alg": "RS256", "cty": "jwt"}, ErrorCode.UNSUPPORTED_TOKEN_TYPE),
        ({"alg": "RSA-OAEP", "enc": "A256GCM"}, ErrorCode.UNSUPPORTED_TOKEN_TYPE),
        ({"alg": "RS256", "typ": 1}, ErrorCode.MALFORMED_TOKEN),
        ({"alg": "RS256", "kid": 7}, ErrorCode.MALFORMED_TOKEN),
        ({"alg": "RS256", "kid": "k" * 257}, ErrorCode.MALFORMED_TOKEN),
        ({"alg": "RS256", "kid": "k" * 10240}, ErrorCode.MALFORMED_TOKEN),
    ],
    ids=[
        "no-alg",
        "alg-number",
        "crit",
        "crit-empty",
        "b64-crit",
        "b64",
        "nested-jwt",
        "nested-jwt-lower",
        "jwe-header",
        "typ-number",
        "kid-number",
        "kid-257",
        "kid-10k",
    ],
)
def test_header_rules(header: dict[str, Any], code: ErrorCode) -> None:
    err = code_of(lambda: decode_compact(raw_token(json.dumps(header).encode(), b"{}")))
    assert err.code is code


def test_kid_of_256_chars_is_accepted() -> None:
    assert decode_compact(raw_token(b'{"alg":"RS256","kid":"' + b"k" * 256 + b'"}', b"{}"))


# --- key choice and signature -----------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["../../etc/passwd", "x' OR '1'='1", "a\x00b", "é" * 100])
def test_unknown_kid_is_reported_escaped_and_truncated(keys: Keys, kid: str) -> None:
    jws = decode_compact(token({"alg": "HS256", "kid": kid}, keys.hs256))
    err = code_of(lambda: verify_signature(jws, keys.set, ALL))
    assert err.code is ErrorCode.UNKNOWN_KEY
    assert repr(kid[:64]) in err.detail
    assert "5 known kids" in err.detail
    assert "\x00" not in err.detail


def test_embedded_jwk_is_never_used_as_the_key(keys: Keys) -> None:
    attacker = ec.generate_private_key(ec.SECP256R1())
    numbers = attacker.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")).decode(),
        "y": b64(numbers.y.to_bytes(32, "big")).decode(),
    }
    forged = decode_compact(token({"alg": "ES256", "kid": "p256", "jwk": jwk}, es_signer(attacker)))
    assert forged.header["jwk"] == jwk  # kept for DPoP callers, never trusted here
    err = code_of(lambda: verify_signature(forged, keys.set, ALL))
    assert err.code is ErrorCode.INVALID_SIGNATURE
    own_kid = decode_compact(
        token({"alg": "ES256", "kid": "mine", "jwk": jwk}, es_signer(attacker))
    )
    assert code_of(lambda: verify_signature(own_kid, keys.set, ALL)).code is ErrorCode.UNKNOWN_KEY
    kidless = decode_compact(token({"alg": "ES256", "jwk": jwk}, es_signer(attacker)))
    single = KeySet((keys.set.get("p256"),))  # type: ignore[arg-type]
    assert (
        code_of(lambda: verify_signature(kidless, single, ALL)).code is ErrorCode.INVALID_SIGNATURE
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"jku": "https://attacker.example/jwks.json"},
        {"x5u": "https://attacker.example/cert.pem"},
        {"x5c": ["MIIB"]},
        {"x5t": "abc"},
    ],
)
def test_key_url_headers_are_ignored(keys: Keys, extra: dict[str, Any]) -> None:
    good = decode_compact(token({"alg": "RS256", "kid": "rsa", **extra}, keys.rs256))
    assert verify_signature(good, keys.set, ALL).kid == "rsa"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = decode_compact(
        token(
            {"alg": "RS256", "kid": "rsa", **extra},
            lambda m: other.sign(m, padding.PKCS1v15(), hashes.SHA256()),
        )
    )
    assert code_of(lambda: verify_signature(bad, keys.set, ALL)).code is ErrorCode.INVALID_SIGNATURE


def test_stripped_signature_is_invalid(keys: Keys) -> None:
    h, p, _ = token({"alg": "RS256", "kid": "rsa"}, keys.rs256).split(".")
    jws = decode_compact(f"{h}.{p}.")
    assert code_of(lambda: verify_signature(jws, keys.set, ALL)).code is ErrorCode.INVALID_SIGNATURE


def test_hs256_keyed_with_the_rsa_public_key_is_refused(keys: Keys) -> None:
    """python-jose CVE-2024-33663 / Authlib CVE-2024-37568: HS256 'signed' with the public PEM."""
    public_pem = pem(keys.rsa)
    forged = decode_compact(
        token({"alg": "HS256", "kid": "rsa"}, lambda m: hmac.digest(public_pem, m, "sha256"))
    )
    err = code_of(lambda: verify_signature(forged, keys.set, ALL))
    assert err.code is ErrorCode.UNSUPPORTED_ALGORITHM
    assert "cannot be used with key" in err.detail
    err = code_of(lambda: verify_signature(forged, keys.set, frozenset({"RS256"})))
    assert "allow-list" in err.detail


def test_three_algorithm_refusals_have_distinct_messages(keys: Keys) -> None:
    unknown = decode_compact(token({"alg": "XS256", "kid": "rsa"}, keys.rs256))
    not_allowed = decode_compact(token({"alg": "PS256", "kid": "rsa"}, keys.ps256))
    wrong_key = decode_compact(token({"alg": "ES256", "kid": "rsa"}, keys.rs256))
    messages = set()
    for jws in (unknown, not_allowed, wrong_key):
        err = code_of(lambda jws=jws: verify_signature(jws, keys.set, ALL - {"PS256"}))
        assert err.code is ErrorCode.UNSUPPORTED_ALGORITHM
        messages.add(err.detail.split(" ", 4)[-1][:30])
    assert len(messages) == 3


def test_ps_rs_mix_up_is_an_invalid_signature(keys: Keys) -> None:
    jws = decode_compact(token({"alg": "RS256", "kid": "rsa"}, keys.ps256))
    assert code_of(lambda: verify_signature(jws, keys.set, ALL)).code is ErrorCode.INVALID_SIGNATURE


def test_es384_header_with_a_p256_key_is_refused(keys: Keys) -> None:
    jws = decode_compact(token({"alg": "ES384", "kid": "p256"}, es_signer(keys.p256)))
    err = code_of(lambda: verify_signature(jws, keys.set, ALL))
    assert err.code is ErrorCode.UNSUPPORTED_ALGORITHM


@pytest.mark.parametrize(
    "signature",
    [
        bytes(64),
        (0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551).to_bytes(32, "big")
        * 2,
        b"\x30\x44" + bytes(70),
        bytes(63),
    ],
    ids=["r=s=0", "r=s=n", "der-length", "short"],
)
def test_degenerate_ecdsa_signatures_are_invalid(keys: Keys, signature: bytes) -> None:
    h, p, _ = token({"alg": "ES256", "kid": "p256"}, es_signer(keys.p256)).split(".")
    jws = decode_compact(f"{h}.{p}.{b64(signature).decode()}")
    assert code_of(lambda: verify_signature(jws, keys.set, ALL)).code is ErrorCode.INVALID_SIGNATURE


def test_kid_names_exactly_one_key_and_no_other_is_tried(keys: Keys) -> None:
    # Signed by the RSA key but naming the P-256 kid: the RSA key is never tried.
    jws = decode_compact(token({"alg": "RS256", "kid": "p256"}, keys.rs256))
    assert code_of(lambda: verify_signature(jws, keys.set, ALL)).code in {
        ErrorCode.UNSUPPORTED_ALGORITHM
    }
    jws = decode_compact(
        token({"alg": "HS256", "kid": "hs"}, lambda m: hmac.digest(b"x" * 32, m, "sha256"))
    )
    assert code_of(lambda: verify_signature(jws, keys.set, ALL)).code is ErrorCode.INVALID_SIGNATURE


def test_kidless_token_uses_the_single_usable_key(keys: Keys) -> None:
    jws = decode_compact(token({"alg": "ES384"}, es_signer(keys.p384)))
    assert verify_signature(jws, keys.set, ALL).kid == "p384"
    only = KeySet((VerificationKey.from_pem(pem(keys.rsa)),))
    rs = decode_compact(token({"alg": "RS256"}, keys.rs256))
    assert verify_signature(rs, only, ALL).kid is None


def test_kidless_token_with_several_candidate_keys_is_an_unknown_key(keys: Keys) -> None:
    two = KeySet(
        (
            VerificationKey.from_pem(pem(keys.rsa), kid="a"),
            VerificationKey.from_pem(
                pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)), kid="b"
            ),
        )
    )
    jws = decode_compact(token({"alg": "RS256"}, keys.rs256))
    err = code_of(lambda: verify_signature(jws, two, ALL))
    assert err.code is ErrorCode.UNKNOWN_KEY
    assert "token has no kid and the key set has 2 keys" in err.detail


def test_kidless_token_refused_when_kidless_matching_is_off(keys: Keys) -> None:
    only = KeySet((VerificationKey.from_pem(pem(keys.rsa), kid="a"),))
    jws = decode_compact(token({"alg": "RS256"}, keys.rs256))
    err = code_of(lambda: verify_signature(jws, only, ALL, allow_kidless_single_key=False))
    assert err.code is ErrorCode.UNKNOWN_KEY


def test_kidless_token_against_the_single_key_of_another_type(keys: Keys) -> None:
    only = KeySet((VerificationKey.from_pem(pem(keys.rsa), kid="a"),))
    jws = decode_compact(token({"alg": "HS256"}, keys.hs256))
    err = code_of(lambda: verify_signature(jws, only, ALL))
    assert err.code is ErrorCode.UNSUPPORTED_ALGORITHM


# --- the duplicate-member trick, checked against a reference parser ---------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def _reference_has_duplicates(text: str) -> bool:
    found = False

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        names = [name for name, _ in pairs]
        found = found or len(names) != len(set(names))
        return dict(pairs)

    json.loads(text, object_pairs_hook=hook)
    return found


@settings(max_examples=300, deadline=None)
@given(
    obj=st.dictionaries(st.text(max_size=6), _json_values, min_size=1, max_size=6),
    ascii_only=st.booleans(),
    spaced=st.booleans(),
    duplicate=st.booleans(),
)
def test_duplicate_detection_matches_a_reference_parser(
    obj: dict[str, Any], ascii_only: bool, spaced: bool, duplicate: bool
) -> None:
    separators = (", ", " : ") if spaced else (",", ":")
    text = json.dumps(obj, ensure_ascii=ascii_only, separators=separators)
    if duplicate:
        name = json.dumps(next(iter(obj)), ensure_ascii=ascii_only)
        text = text[:-1] + f"{separators[0]}{name}{separators[1]}0}}"
    data = text.encode()
    expected_duplicate = _reference_has_duplicates(text)
    assert expected_duplicate == duplicate
    if expected_duplicate:
        with pytest.raises(JSONError):
            loads_object(data)
    else:
        assert loads_object(data) == json.loads(text)


def test_hand_built_jws_with_a_non_string_kid_is_malformed(keys: Keys) -> None:
    jws = decode_compact(token({"alg": "HS256", "kid": "hs"}, keys.hs256))
    forged = CompactJWS({"alg": "HS256", "kid": 7}, {}, jws.signing_input, jws.signature)
    err = code_of(lambda: verify_signature(forged, keys.set, ALL))
    assert err.code is ErrorCode.MALFORMED_TOKEN
