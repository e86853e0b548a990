"""Service token wire format: shape, entropy, checksum typo detection, id rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authgate.errors import AuthError, ErrorCode
from authgate.service_tokens.format import (
    MAX_TOKEN_LENGTH,
    generate_bootstrap_token,
    generate_id,
    generate_token,
    identity_hint,
    parse_token,
    validate_id,
)

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def test_round_trip_keeps_id_and_a_43_char_secret() -> None:
    token = generate_token("ci-deploy.prod")
    assert token.startswith("ag_ci-deploy.prod_")
    parsed = parse_token(token)
    assert parsed.token_id == "ci-deploy.prod"
    assert len(parsed.secret) == 43  # 62**43 > 2**256
    assert parsed.secret in token
    assert parsed.secret not in repr(parsed)


def test_secrets_are_fresh_each_time() -> None:
    secrets = {parse_token(generate_token("a")).secret for _ in range(200)}
    assert len(secrets) == 200


def test_every_single_character_typo_is_rejected() -> None:
    token = generate_token("svc")
    for index in range(len("ag_svc_"), len(token)):
        for replacement in "0aZ":
            if token[index] == replacement:
                continue
            typo = token[:index] + replacement + token[index + 1 :]
            with pytest.raises(AuthError) as info:
                parse_token(typo)
            assert info.value.code is ErrorCode.INVALID_SERVICE_TOKEN


@given(st.text(max_size=200))
def test_arbitrary_text_never_parses_and_never_crashes(text: str) -> None:
    with pytest.raises(AuthError) as info:
        parse_token("ag_" + text)
    assert info.value.code is ErrorCode.INVALID_SERVICE_TOKEN


@pytest.mark.parametrize(
    "token",
    [
        "",
        "ag_",
        "gh_abc",
        "ag_svc",
        "AG_svc_" + "A" * 49,
        "ag_Svc_" + "A" * 49,
        "ag_svc_" + "A" * 48,
        "ag_svc_" + "é" * 49,
        "ag_" + "a" * (MAX_TOKEN_LENGTH + 1),
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(AuthError) as info:
        parse_token(token)
    assert info.value.code is ErrorCode.INVALID_SERVICE_TOKEN
    assert info.value.status == 401


@pytest.mark.parametrize("bad", ["", "-a", "a-", "A", "a_b", "a b", "x" * 65, "../etc"])
def test_invalid_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="token id"):
        validate_id(bad)
    with pytest.raises(ValueError, match="token id"):
        generate_token(bad)


def test_generated_ids_and_bootstrap_tokens_have_their_shapes() -> None:
    assert validate_id(generate_id()).startswith("tok-")
    bootstrap = generate_bootstrap_token()
    assert bootstrap.startswith("agb_")
    assert len(bootstrap) == 47
    assert all(ch in ALPHABET for ch in bootstrap[4:])


def test_identity_hint_reads_the_claimed_id_without_verifying() -> None:
    assert identity_hint(generate_token("build-bot")) == "build-bot"
    assert identity_hint("ag_build-bot_garbage") == "build-bot"
    assert identity_hint(generate_bootstrap_token()) == "bootstrap"
    assert identity_hint("eyJhbGciOi.x.y") is None
    assert identity_hint("ag_" + "x" * 500) is None
