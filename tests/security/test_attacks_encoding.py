"""Security test list — Encoding (RFC 7515 §2/§7.1, RFC 4648 §3.5/§5, RFC 7493 I-JSON, RFC 8259).

One token, one spelling: every alternative spelling of the same bytes (padding, ``+/``,
whitespace, non-zero unused bits) and every ambiguous JSON text (duplicate member names, also
when one is written with escapes) is ``auth.malformed_token``. Where the oddity sits in the
header or payload, the token is re-signed over the odd text, so a refusal can only come from
the parser and never from the signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from tests.security.conftest import Keys, MakeVerifier
from tests.support.tokens import AUDIENCE, ISSUER, NOW, SigningKey, b64, encode, okta_claims

from authgate.errors import ErrorCode
from authgate.verifier import TokenVerifier

Refused = Callable[[TokenVerifier, str], ErrorCode]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
HEADER = b'{"alg":"ES256","typ":"JWT","kid":"ec-1"}'


def signed(key: SigningKey, header_text: str, payload_text: str) -> str:
    """A token whose signature covers exactly these (possibly odd) segment texts."""
    signing_input = f"{header_text}.{payload_text}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def claims_bytes(**overrides: Any) -> bytes:
    return json.dumps(okta_claims(jti="AT.fixed-for-determinism", **overrides)).encode()


def raw_payload(extra: str) -> bytes:
    """Hand-written claims text (no serializer would write duplicates) ending with ``extra``."""
    return (
        f'{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"alice@example.com",'
        f'"iat":{NOW},"exp":{NOW + 3600},"scp":["api:read"]{extra}}}'
    ).encode()


# -- duplicate member names ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(raw_payload(',"iss":"https://evil.example"'), id="iss-twice-evil-last"),
        pytest.param(
            raw_payload("").replace(b'{"iss"', b'{"iss":"https://evil.example","iss"'),
            id="iss-twice-evil-first",
        ),
        pytest.param(raw_payload(f',"exp":{NOW + 10**8}'), id="exp-twice"),
        pytest.param(raw_payload(',"sub":"admin"'), id="sub-twice"),
        pytest.param(raw_payload(',"\\u0073ub":"admin"'), id="escaped-sub-vs-sub"),
        pytest.param(raw_payload(',"\\u0073\\u0075\\u0062":"admin"'), id="fully-escaped-sub"),
        pytest.param(raw_payload(',"cnf":{"jkt":"a","jkt":"b"}'), id="nested-object"),
        pytest.param(raw_payload(',"cnf":{"jkt":"a","j\\u006bt":"b"}'), id="nested-escaped"),
        pytest.param(raw_payload(',"act":[{"sub":"x","sub":"y"}]'), id="object-in-array"),
        pytest.param(raw_payload(',"x":"a\\"b","x":1'), id="escaped-quote-in-value"),
    ],
)
def test_duplicate_members_in_payload(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, payload: bytes
) -> None:
    token = signed(keys.ec, b64(HEADER), b64(payload))
    assert refused(make_verifier(keys.ec), token) is ErrorCode.MALFORMED_TOKEN


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b'{"alg":"ES256","kid":"ec-1","alg":"none"}', id="alg-twice"),
        pytest.param(b'{"alg":"none","kid":"ec-1","alg":"ES256"}', id="alg-twice-none-first"),
        pytest.param(b'{"alg":"ES256","kid":"evil","kid":"ec-1"}', id="kid-twice"),
        pytest.param(b'{"alg":"ES256","kid":"ec-1","\\u0061lg":"HS256"}', id="escaped-alg"),
    ],
)
def test_duplicate_members_in_header(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, header: bytes
) -> None:
    token = signed(keys.ec, b64(header), b64(raw_payload("")))
    assert refused(make_verifier(keys.ec), token) is ErrorCode.MALFORMED_TOKEN


def test_escaped_member_name_alone_is_fine(keys: Keys, make_verifier: MakeVerifier) -> None:
    """Control: escapes are legal JSON; only a second spelling of a name is refused."""
    payload = raw_payload(',"\\u0067roups":["Everyone"]')
    principal = make_verifier(keys.ec).verify(signed(keys.ec, b64(HEADER), b64(payload)))
    assert principal.groups == {"Everyone"}


# -- base64url spellings ----------------------------------------------------------------------------
def token_parts(keys: Keys) -> list[str]:
    """A valid ES256 token whose header, payload and signature all contain '-' or '_' and
    have a length that is not a multiple of 4 (so padding and unused bits both apply)."""
    for i in range(500):
        header = b64(b'{"alg":"ES256","typ":"JWT","kid":"ec-1","x":"' + b"?>" * (i % 7 + 2) + b'"}')
        payload = b64(claims_bytes(pad="?" * i, note="~>~>"))
        token = signed(keys.ec, header, payload)
        parts = token.split(".")
        if all(set(p) & set("-_") and len(p) % 4 for p in parts):
            return parts
    raise AssertionError("no suitable token found")  # pragma: no cover - deterministic inputs


SEGMENTS = {"header": 0, "payload": 1, "signature": 2}


def _noncanonical_last(segment: str) -> str:
    # The low (unused) bits of the last character: 4 bits when len % 4 == 2, else 2 bits.
    index = ALPHABET.index(segment[-1])
    unused = 0b1111 if len(segment) % 4 == 2 else 0b11
    assert index & unused == 0, "a canonical encoder leaves the unused bits zero"
    return segment[:-1] + ALPHABET[index | 1]


def _standard_alphabet(segment: str) -> str:
    return segment.replace("-", "+").replace("_", "/")


def _padded(segment: str) -> str:
    return segment + "=" * (-len(segment) % 4)


SPELLINGS: dict[str, Callable[[str], str]] = {
    "padding": _padded,
    "plus-slash": _standard_alphabet,
    "space-inside": lambda s: s[:5] + " " + s[5:],
    "newline-inside": lambda s: s[:5] + "\n" + s[5:],
    "tab-inside": lambda s: s[:5] + "\t" + s[5:],
    "crlf-end": lambda s: s + "\r\n",
    "non-canonical-trailing-bits": _noncanonical_last,
    "stray-equals-inside": lambda s: s[:4] + "=" + s[4:],
    "percent-encoded": lambda s: s[:4] + "%41" + s[4:],
    "one-char-too-many": lambda s: s + "A" * (1 if len(s) % 4 == 0 else 4 - len(s) % 4 + 1),
}


@pytest.mark.parametrize("segment", list(SEGMENTS))
@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_base64url_alternative_spellings(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, segment: str, spelling: str
) -> None:
    parts = token_parts(keys)
    verifier = make_verifier(keys.ec)
    assert verifier.verify(".".join(parts)).subject  # the canonical spelling passes
    odd = list(parts)
    odd[SEGMENTS[segment]] = SPELLINGS[spelling](parts[SEGMENTS[segment]])
    if segment != "signature":  # re-sign over the odd text: only the parser may refuse it
        odd = signed(keys.ec, odd[0], odd[1]).split(".")
    assert refused(verifier, ".".join(odd)) is ErrorCode.MALFORMED_TOKEN


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda t: t + ".", id="trailing-dot"),
        pytest.param(lambda t: t + ".e30", id="fourth-segment"),
        pytest.param(lambda t: t + "=", id="trailing-equals"),
        pytest.param(lambda t: t + "\x00", id="trailing-nul"),
        pytest.param(lambda t: t + " ", id="trailing-space"),
        pytest.param(lambda t: " " + t, id="leading-space"),
        pytest.param(lambda t: t + "\n", id="trailing-newline"),
        pytest.param(lambda t: "." + t, id="leading-dot"),
        pytest.param(lambda t: t.replace(".", "..", 1), id="double-dot"),
        pytest.param(lambda t: "Bearer " + t, id="scheme-inside-token"),
    ],
)
def test_trailing_and_leading_junk(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, mutate: Callable[[str], str]
) -> None:
    token = mutate(encode(keys.ec, okta_claims()))
    assert refused(make_verifier(keys.ec), token) is ErrorCode.MALFORMED_TOKEN


# -- size cap -------------------------------------------------------------------------------------
def test_size_cap_boundary(keys: Keys, make_verifier: MakeVerifier, refused: Refused) -> None:
    token = encode(keys.ec, okta_claims(pad="x" * 12000))
    verifier = make_verifier(keys.ec)
    verifier.max_token_size = len(token)
    assert verifier.verify(token).subject  # exactly at the cap passes
    verifier.max_token_size = len(token) - 1
    assert refused(verifier, token) is ErrorCode.TOKEN_TOO_LARGE


@pytest.mark.parametrize("size", [16385, 64 * 1024, 4 * 1024 * 1024])
def test_over_default_size_cap(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, size: int
) -> None:
    header, payload, signature = encode(keys.ec, okta_claims()).split(".")
    filler = "A" * (size - len(header) - len(payload) - len(signature) - 2)
    padded = f"{header}.{payload}{filler}.{signature}"
    assert len(padded) == size
    assert refused(make_verifier(keys.ec), padded) is ErrorCode.TOKEN_TOO_LARGE


# -- non-UTF-8 and non-ASCII ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(raw_payload(',"name":"X"').replace(b'"X"', b'"\xff"'), id="invalid-ff"),
        pytest.param(raw_payload(',"name":"X"').replace(b'"X"', b'"\xc0\xaf"'), id="overlong"),
        pytest.param(raw_payload(',"name":"X"').replace(b'"X"', b'"\xed\xa0\x80"'),
                     id="raw-surrogate"),
        pytest.param(raw_payload(',"name":"\\ud800"'), id="escaped-lone-surrogate"),
        pytest.param(raw_payload(',"name":"X"').replace(b'"X"', b'"\xe9"'), id="latin-1-e-acute"),
        pytest.param(b"\xef\xbb\xbf" + raw_payload(""), id="utf8-bom"),
        pytest.param(raw_payload("").decode().encode("utf-16"), id="utf-16"),
    ],
)  # fmt: skip
def test_payload_not_utf8(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, payload: bytes
) -> None:
    token = signed(keys.ec, b64(HEADER), b64(payload))
    assert refused(make_verifier(keys.ec), token) is ErrorCode.MALFORMED_TOKEN


def test_header_not_utf8(keys: Keys, make_verifier: MakeVerifier, refused: Refused) -> None:
    header = b'{"alg":"ES256","kid":"ec-1","x":"\xff"}'
    token = signed(keys.ec, b64(header), b64(raw_payload("")))
    assert refused(make_verifier(keys.ec), token) is ErrorCode.MALFORMED_TOKEN


@pytest.mark.parametrize("char", ["é", "\u200b", "\uff0e", "\u00a0"], ids=repr)
def test_non_ascii_in_token_text(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, char: str
) -> None:
    token = encode(keys.ec, okta_claims())
    head, rest = token.split(".", 1)
    assert refused(make_verifier(keys.ec), head + char + "." + rest) is ErrorCode.MALFORMED_TOKEN


# -- JSON shape and depth ---------------------------------------------------------------------------
def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param(f',"deep":{_nested(31)}', None, id="32-levels-accepted"),
        pytest.param(f',"deep":{_nested(32)}', ErrorCode.MALFORMED_TOKEN, id="33-levels"),
        pytest.param(',"deep":' + '{"a":' * 40 + "1" + "}" * 40, ErrorCode.MALFORMED_TOKEN,
                     id="41-levels-objects"),
        pytest.param(f',"deep":{_nested(5000)}', ErrorCode.MALFORMED_TOKEN, id="5000-levels"),
        pytest.param(',"deep":' + "[" * 5000, ErrorCode.MALFORMED_TOKEN, id="5000-unclosed"),
    ],
)  # fmt: skip
def test_deep_json_nesting(
    keys: Keys,
    make_verifier: MakeVerifier,
    refused: Refused,
    extra: str,
    expected: ErrorCode | None,
) -> None:
    token = signed(keys.ec, b64(HEADER), b64(raw_payload(extra)))
    verifier = make_verifier(keys.ec)
    if expected is None:
        assert verifier.verify(token).subject
    else:
        assert refused(verifier, token) is expected


def test_deep_nesting_in_header(keys: Keys, make_verifier: MakeVerifier, refused: Refused) -> None:
    header = b'{"alg":"ES256","kid":"ec-1","x":' + _nested(100).encode() + b"}"
    token = signed(keys.ec, b64(header), b64(raw_payload("")))
    assert refused(make_verifier(keys.ec), token) is ErrorCode.MALFORMED_TOKEN


@pytest.mark.parametrize(
    "payload",
    [b"[]", b'"claims"', b"42", b"null", b"", b'{"sub":"a"} {"sub":"b"}', b'{"sub":"a",}'],
    ids=["array", "string", "number", "null", "empty", "two-documents", "trailing-comma"],
)
def test_payload_not_a_json_object(
    keys: Keys, make_verifier: MakeVerifier, refused: Refused, payload: bytes
) -> None:
    token = signed(keys.ec, b64(HEADER), b64(payload))
    assert refused(make_verifier(keys.ec), token) is ErrorCode.MALFORMED_TOKEN
