"""Differential tests: our accept/reject verdict vs PyJWT and joserfc (RFC 7515/7519), hypothesis.

Valid Okta-shaped tokens (RS256, ES256, EdDSA, HS256, random extra claims) are mutated — a byte
flipped in a segment, ``alg`` swapped, ``kid`` dropped or altered, ``exp``/``nbf``/``iat``
shifted across the leeway boundary, ``iss``/``aud`` changed, a member duplicated, padding or
other base64 spellings, re-ordered/re-spaced JSON — and each verdict is compared. All three
judge at the same instant: ours and joserfc take ``now`` as a parameter, PyJWT's clock is
frozen for the call. Every disagreement must be in :data:`ALLOWED` (library, mutation,
direction) with its reason; any other one fails the test — including one where a reference
library refuses what we accept.
"""

from __future__ import annotations

import datetime
import json
import warnings
from collections.abc import Callable
from typing import Any
from unittest.mock import patch

import jwt as pyjwt
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from joserfc import jwt as jose_jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet as JoseKeySet
from joserfc.jwt import JWTClaimsRegistry
from tests.security.conftest import Keys
from tests.support.tokens import AUDIENCE, ISSUER, NOW, SigningKey, b64, jwks, okta_claims

from authgate.clock import ManualClock
from authgate.errors import AuthError
from authgate.jose.compact import b64url_decode
from authgate.jose.key_source import StaticKeys
from authgate.jose.keys import KeySet
from authgate.verifier import IssuerConfig, TokenVerifier

LEEWAY = 60
ALGS = ("RS256", "ES256", "EdDSA", "HS256")
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SETTINGS = settings(derandomize=True, max_examples=200, deadline=None, database=None)
FIND_SETTINGS = settings(derandomize=True, max_examples=500, deadline=None, database=None)

# (library, mutation) → why we reject what that library accepts. Only this direction is ever
# allowed: a reference library refusing a token we accept always fails the test.
ALLOWED: dict[tuple[str, str], str] = {
    ("pyjwt", "duplicate-member"): "PyJWT keeps the last of duplicate member names (json.loads); "
    "we reject duplicates by design (RFC 7515 §5.2 lets us; RFC 8725 §3.3 'which alg?')",
    ("joserfc", "duplicate-member"): "joserfc keeps the last duplicate (json.loads); we reject",
    ("pyjwt", "pad-segment"): "PyJWT accepts '=' padding in base64url; RFC 7515 §2 forbids it",
    # PyJWT 2.15 and joserfc refuse '+/', whitespace and non-zero unused bits as we do, so
    # those mutations must agree and have no entry here.
    ("pyjwt", "alter-kid"): "PyJWT is handed the key directly and ignores kid; we select the "
    "key by kid from the key set, so an unknown kid is refused (joserfc's KeySet agrees)",
}


class _FrozenDatetime(datetime.datetime):
    """PyJWT reads ``datetime.now``; frozen at NOW so all three judge the same instant."""

    @classmethod
    def now(cls, tz: datetime.tzinfo | None = None) -> _FrozenDatetime:
        moment = datetime.datetime.fromtimestamp(NOW, tz)
        return cls.fromtimestamp(moment.timestamp(), tz)


# -- the three verdicts ------------------------------------------------------------------------------
def ours(verifier: TokenVerifier, token: str) -> bool:
    try:
        verifier.verify(token)
    except AuthError:
        return False
    return True  # any other exception propagates: a crash is a bug, not a verdict


def pyjwt_accepts(key: SigningKey, token: str) -> bool:
    secret = key.private if key.alg == "HS256" else key.private.public_key()
    try:
        with patch.object(pyjwt.api_jwt, "datetime", _FrozenDatetime):
            pyjwt.decode(
                token, secret, algorithms=[key.alg], audience=AUDIENCE, issuer=ISSUER,
                leeway=LEEWAY, options={"require": ["exp", "iss", "aud"]},
            )  # fmt: skip
    except (pyjwt.PyJWTError, ValueError, TypeError):
        return False
    return True


def joserfc_accepts(key_set: JoseKeySet, alg: str, token: str) -> bool:
    registry = JWTClaimsRegistry(
        now=NOW,
        leeway=LEEWAY,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        exp={"essential": True},
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)  # "EdDSA" is deprecated (RFC 9864)
            registry.validate(jose_jwt.decode(token, key_set, algorithms=[alg]).claims)
    except Exception:  # any refusal, whatever its class, is a "reject" verdict
        return False
    return True


# -- token construction and mutations -----------------------------------------------------------------
def sign(key: SigningKey, header_text: str, payload_text: str) -> str:
    signing_input = f"{header_text}.{payload_text}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def header_for(key: SigningKey, **changes: Any) -> dict[str, Any]:
    header = {"kid": key.kid, "alg": key.alg}  # Okta's order (okta-wire §3)
    header.update(changes)
    return {k: v for k, v in header.items() if v is not ...}


def flip_bit(data: bytes, position: int, bit: int) -> bytes:
    index = position % len(data)
    return data[:index] + bytes([data[index] ^ (1 << bit)]) + data[index + 1 :]


def set_unused_bits(segment: str) -> str | None:
    if len(segment) % 4 not in (2, 3):
        return None
    return segment[:-1] + ALPHABET[ALPHABET.index(segment[-1]) | 1]


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
EXTRA_CLAIMS = st.dictionaries(st.text(max_size=8).map(lambda s: "x_" + s), JSON_VALUES, max_size=4)

STRUCTURAL = (
    "none", "flip-header-byte", "flip-payload-byte", "flip-signature-byte", "alg-swap",
    "drop-kid", "alter-kid", "pad-segment", "plus-slash", "non-canonical-bits",
    "space-in-signature", "reorder-whitespace",
)  # fmt: skip
CLAIMS = ("exp-shift", "nbf-shift", "iat-shift", "iss-variant", "aud-variant", "duplicate-member")
ISS_VARIANTS = (ISSUER + "/", ISSUER[:-1], ISSUER.upper(), ISSUER + "x", "", ISSUER[8:])
AUD_VARIANTS = ([AUDIENCE], ["api://x", AUDIENCE], [], "api://x", 1, [AUDIENCE, 1], None)


@st.composite
def mutated_tokens(draw: st.DrawFn, kinds: tuple[str, ...], keys: Keys) -> tuple[str, str, str]:
    """(alg, mutation actually applied, token)."""
    alg = draw(st.sampled_from(ALGS))
    key = _key_for(keys, alg)
    claims = okta_claims(jti="AT.differential", **draw(EXTRA_CLAIMS))
    mutation = draw(st.sampled_from(kinds))
    header_text = b64(json.dumps(header_for(key)).encode())
    payload_text = b64(json.dumps(claims).encode())
    token = sign(key, header_text, payload_text)
    h, p, s = token.split(".")
    position, bit = draw(st.integers(0, 10_000)), draw(st.integers(0, 7))
    if mutation == "flip-header-byte":
        return alg, mutation, f"{b64(flip_bit(b64url_decode(h.encode()), position, bit))}.{p}.{s}"
    if mutation == "flip-payload-byte":
        return alg, mutation, f"{h}.{b64(flip_bit(b64url_decode(p.encode()), position, bit))}.{s}"
    if mutation == "flip-signature-byte":
        return alg, mutation, f"{h}.{p}.{b64(flip_bit(b64url_decode(s.encode()), position, bit))}"
    if mutation == "alg-swap":
        new_alg = draw(st.sampled_from(["none", "HS256", "RS256", "PS256", "ES256", "EdDSA",
                                        "ES384", "HS512", "RS512"]).filter(lambda a: a != alg))  # fmt: skip
        return alg, mutation, f"{b64(json.dumps(header_for(key, alg=new_alg)).encode())}.{p}.{s}"
    if mutation in ("drop-kid", "alter-kid"):
        kid = ... if mutation == "drop-kid" else draw(st.sampled_from(["other", key.kid + "x", ""]))
        return alg, mutation, sign(key, b64(json.dumps(header_for(key, kid=kid)).encode()), p)
    if mutation == "pad-segment":
        which = draw(st.integers(0, 2))
        parts = [h, p, s]
        parts[which] += "=" * (-len(parts[which]) % 4 or 4)
        if which < 2:  # re-signed over the padded text: only the decoder may object
            return alg, mutation, sign(key, parts[0], parts[1])
        return alg, mutation, ".".join(parts)
    if mutation in ("plus-slash", "non-canonical-bits", "space-in-signature"):
        parts = [h, p, s]
        which = 2 if mutation == "space-in-signature" else draw(st.integers(0, 2))
        odd = _respell(mutation, parts[which], position)
        if odd is None:
            return alg, "none", token
        parts[which] = odd
        if which < 2:  # re-signed over the odd text: only the decoder may object
            return alg, mutation, sign(key, parts[0], parts[1])
        return alg, mutation, ".".join(parts)
    if mutation == "reorder-whitespace":
        items = draw(st.permutations(list(claims.items())))
        text = json.dumps(
            dict(items),
            indent=draw(st.sampled_from([None, 0, 2, "\t"])),
            separators=draw(st.sampled_from([(",", ":"), (" , ", " : "), (",\n", ":\t")])),
            ensure_ascii=draw(st.booleans()),
        )
        return alg, mutation, sign(key, h, b64(text.encode()))
    if mutation in ("exp-shift", "nbf-shift", "iat-shift"):
        name = mutation.split("-")[0]
        shift = draw(st.integers(-3, 3))
        claims[name] = NOW - LEEWAY + shift if name == "exp" else NOW + LEEWAY + shift
        return alg, mutation, sign(key, h, b64(json.dumps(claims).encode()))
    if mutation == "iss-variant":
        claims["iss"] = draw(st.sampled_from(ISS_VARIANTS))
        return alg, mutation, sign(key, h, b64(json.dumps(claims).encode()))
    if mutation == "aud-variant":
        claims["aud"] = draw(st.sampled_from(AUD_VARIANTS))
        return alg, mutation, sign(key, h, b64(json.dumps(claims).encode()))
    if mutation == "duplicate-member":
        name = draw(st.sampled_from(["iss", "exp", "sub", "aud", "scp"]))
        value = draw(st.sampled_from([claims[name], "https://evil.example", NOW - 3600]))
        text = json.dumps(claims)
        dup = f'"{name}": {json.dumps(value)}, '
        text = "{" + dup + text[1:] if draw(st.booleans()) else text[:-1] + ", " + dup[:-2] + "}"
        return alg, mutation, sign(key, h, b64(text.encode()))
    return alg, "none", token


def _respell(mutation: str, segment: str, position: int) -> str | None:
    """Another spelling of the same bytes, or None when this segment has none."""
    if mutation == "plus-slash":
        swapped = segment.replace("-", "+").replace("_", "/")
        return swapped if swapped != segment else None
    if mutation == "non-canonical-bits":
        return set_unused_bits(segment)
    cut = position % len(segment)
    return f"{segment[:cut]} {segment[cut:]}"


def _key_for(keys: Keys, alg: str) -> SigningKey:
    return {"RS256": keys.rsa, "ES256": keys.ec, "EdDSA": keys.ed, "HS256": keys.hs}[alg]


# -- the judges -------------------------------------------------------------------------------------
Judge = Callable[[str, str], dict[str, bool]]


@pytest.fixture(scope="module")
def judge(keys: Keys) -> Judge:
    clock = ManualClock(NOW)
    verifiers: dict[str, TokenVerifier] = {}
    jose_sets: dict[str, JoseKeySet] = {}
    for alg in ALGS:
        key = _key_for(keys, alg)
        source = StaticKeys(KeySet.from_jwks(jwks(key)), description=f"diff-{alg}")
        cfg = IssuerConfig(ISSUER, source, (AUDIENCE,), frozenset({alg}), leeway=LEEWAY)
        verifiers[alg] = TokenVerifier([cfg], clock=clock)
        jose_sets[alg] = JoseKeySet.import_key_set(jwks(key))  # type: ignore[arg-type]

    def verdicts(alg: str, token: str) -> dict[str, bool]:
        return {
            "ours": ours(verifiers[alg], token),
            "pyjwt": pyjwt_accepts(_key_for(keys, alg), token),
            "joserfc": joserfc_accepts(jose_sets[alg], alg, token),
        }

    return verdicts


def check_agreement(verdicts: dict[str, bool], mutation: str) -> None:
    for library in ("pyjwt", "joserfc"):
        if verdicts[library] == verdicts["ours"]:
            continue
        summary = f"{mutation!r}: ours={verdicts['ours']} {library}={verdicts[library]}"
        assert not verdicts["ours"], f"a reference library refuses what we accept: {summary}"
        assert (library, mutation) in ALLOWED, f"unlisted disagreement: {summary}"


def test_unmutated_tokens_agree(judge: Judge, keys: Keys) -> None:
    """Control: every family's plain token is accepted by all three."""
    for alg in ALGS:
        key = _key_for(keys, alg)
        token = sign(
            key, b64(json.dumps(header_for(key)).encode()), b64(json.dumps(okta_claims()).encode())
        )
        assert judge(alg, token) == {"ours": True, "pyjwt": True, "joserfc": True}


@SETTINGS
@given(data=st.data())
def test_structural_mutations_agree(judge: Judge, keys: Keys, data: st.DataObject) -> None:
    alg, mutation, token = data.draw(mutated_tokens(STRUCTURAL, keys))
    check_agreement(judge(alg, token), mutation)


@SETTINGS
@given(data=st.data())
def test_claim_mutations_agree(judge: Judge, keys: Keys, data: st.DataObject) -> None:
    alg, mutation, token = data.draw(mutated_tokens(CLAIMS, keys))
    check_agreement(judge(alg, token), mutation)


@pytest.mark.parametrize(
    ("library", "mutation"), sorted(ALLOWED), ids=[f"{lib}-{m}" for lib, m in sorted(ALLOWED)]
)
def test_every_allowed_disagreement_is_real(
    judge: Judge, keys: Keys, library: str, mutation: str
) -> None:
    """No stale allow-list entries: each listed (library, mutation) really does disagree."""

    def disagrees(case: tuple[str, str, str]) -> bool:
        alg, applied, token = case
        verdicts = judge(alg, token)
        return applied == mutation and not verdicts["ours"] and verdicts[library]

    witness = find(mutated_tokens((mutation,), keys), disagrees, settings=FIND_SETTINGS)
    assert disagrees(witness)
