"""Settings: env shortcut, TOML issuers, errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from authgate.errors import ConfigError
from authgate.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("AUTHGATE_") and not name.startswith("AUTHGATE_TEST_"):
            monkeypatch.delenv(name)


def test_env_single_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHGATE_ISSUER", "https://dev.okta.com/oauth2/default")
    monkeypatch.setenv("AUTHGATE_AUDIENCES", "api://default, api://b")
    monkeypatch.setenv("AUTHGATE_ALGORITHMS", '["RS256","ES256"]')
    monkeypatch.setenv("AUTHGATE_LEEWAY", "30")
    (issuer,) = load_settings().all_issuers()
    assert issuer.issuer == "https://dev.okta.com/oauth2/default"
    assert issuer.audiences == ["api://default", "api://b"]
    assert issuer.algorithms == ["RS256", "ES256"]
    assert issuer.leeway == 30


def test_toml_issuers_and_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "authgate.toml"
    cfg.write_text(
        'max_token_size = 8192\n\n[[issuers]]\nissuer = "https://a"\naudiences = ["x"]\n'
        'role_claims = ["role"]\ndefault_role = "User"\n\n'
        '[[issuers]]\nissuer = "https://b"\nalgorithms = ["ES256"]\n'
    )
    monkeypatch.setenv("AUTHGATE_MAX_TOKEN_SIZE", "4096")
    settings = load_settings(cfg)
    assert settings.max_token_size == 4096
    a, b = settings.all_issuers()
    assert (a.issuer, a.audiences, a.default_role) == ("https://a", ["x"], "User")
    assert b.algorithms == ["ES256"]


def test_invalid_env_value_names_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHGATE_LEEWAY", "soon")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "AUTHGATE_LEEWAY" in str(info.value)


def test_invalid_toml_value_names_path(tmp_path: Path) -> None:
    cfg = tmp_path / "a.toml"
    cfg.write_text('[[issuers]]\nissuer = "https://a"\nleeway = -5\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert "issuers[0].leeway" in str(info.value)


def test_unknown_issuer_key_rejected(tmp_path: Path) -> None:
    cfg = tmp_path / "a.toml"
    cfg.write_text('[[issuers]]\nissuer = "https://a"\naudience = "typo"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert "audience" in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "nope.toml")
    assert "does not exist" in str(info.value)


def test_broken_toml(tmp_path: Path) -> None:
    cfg = tmp_path / "a.toml"
    cfg.write_text("[[issuers]\n")
    with pytest.raises(ConfigError):
        load_settings(cfg)


def test_top_level_typo_is_refused(tmp_path: Path) -> None:
    """Review finding: `audience` (typo) at the top level used to be ignored silently."""
    cfg = tmp_path / "a.toml"
    cfg.write_text('audience = "api://orders"\n[okta]\nclient_id = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert "audience" in str(info.value)


def test_env_issuer_duplicating_a_toml_issuer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "a.toml"
    cfg.write_text('[[issuers]]\nissuer = "https://a"\naudiences = ["x"]\n')
    monkeypatch.setenv("AUTHGATE_ISSUER", "https://a")
    with pytest.raises(ConfigError, match="TOML"):
        load_settings(cfg).all_issuers()


def test_inline_hmac_jwks_is_refused() -> None:
    from authgate.settings import IssuerSettings
    from authgate.verifier_builder import build_key_source

    jwks = {"keys": [{"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]}
    with pytest.raises(ConfigError, match="hs_secret_env"):
        build_key_source(IssuerSettings(issuer="https://a", audiences=["x"], jwks=jwks))
