"""``authgate config import`` details the migration guides rely on: forms, secrets, errors, CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from authgate.cli.config import app
from authgate.config_import import convert
from authgate.errors import ConfigError

ASPNET_ENV = """
Authentication__Schemes__Bearer__ValidIssuer=https://a.example/oauth2/default
Authentication__Schemes__Bearer__ValidAudiences__0=api://one
Authentication__Schemes__Bearer__ValidAudiences__1=api://two
Authentication__Schemes__Bearer__TokenValidationParameters__ClockSkew=00:05:00
Authentication__Schemes__Bearer__RequireHttpsMetadata=false
"""


def test_aspnet_environment_form_and_timespan() -> None:
    result = convert("aspnet", ASPNET_ENV)
    (issuer,) = result.issuers
    assert issuer["issuer"] == "https://a.example/oauth2/default"
    assert issuer["audiences"] == ["api://one", "api://two"]
    assert issuer["leeway"] == 300.0
    assert issuer["allow_insecure_http"] is True
    assert any("dev only" in note for note in result.notes)


def test_aspnet_valid_issuers_become_several_tables() -> None:
    text = '{"JwtBearer": {"ValidIssuers": ["https://a.example", "https://b.example"]}}'
    issuers = [i["issuer"] for i in convert("aspnet", text).issuers]
    assert issuers == ["https://a.example", "https://b.example"]
    assert "several issuers" in convert("aspnet", text).to_env()


def test_literal_secrets_are_never_copied() -> None:
    ini = "[okta]\norg_url = https://x.okta.com\napi_token = 00literal-ssws-token\n"
    result = convert("tacacs-ini", ini)
    assert "00literal-ssws-token" not in result.to_yaml()
    assert result.aaa is not None
    assert result.aaa["okta"]["api_token_env"] == "AUTHGATE_AAA_OKTA_API_TOKEN"
    env = "JWT_ISSUER=https://x\nTOKEN_EXCHANGE_CLIENT_SECRET=s3cret-value\n"
    rendered = convert("env-jwt", env).to_env()
    assert "s3cret-value" not in rendered
    assert "AUTHGATE_OKTA_CLIENT_SECRET=${TOKEN_EXCHANGE_CLIENT_SECRET}" in rendered


def test_orcheo_hs_secret_stays_in_its_variable() -> None:
    result = convert("orcheo", "ORCHEO_AUTH_ISSUER=https://x\nORCHEO_AUTH_JWT_SECRET=abc\n")
    (issuer,) = result.issuers
    assert issuer["hs_secret_env"] == "ORCHEO_AUTH_JWT_SECRET"
    assert issuer["algorithms"] == ["HS256"]
    assert "abc" not in result.to_toml()


def test_env_output_lines() -> None:
    text = "JWT_ISSUER=https://x/oauth2/default\nJWT_AUDIENCE=api://a, api://b\n"
    lines = convert("env-jwt", text).to_env().splitlines()
    assert "AUTHGATE_ISSUER=https://x/oauth2/default" in lines
    assert "AUTHGATE_AUDIENCES=api://a,api://b" in lines


def test_bad_input_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot read the input"):
        convert("aspnet", "{not json")
    with pytest.raises(ConfigError, match="unknown source"):
        convert("nginx", "")


def test_cli_prints_and_writes(tmp_path: Path) -> None:
    source = tmp_path / "service.env"
    source.write_text("JWT_ISSUER=https://x/oauth2/default\n")
    printed = CliRunner().invoke(app, ["import", "--from", "env-jwt", str(source)])
    assert printed.exit_code == 0, printed.output
    assert 'issuer = "https://x/oauth2/default"' in printed.stdout
    target = tmp_path / "out.env"
    written = CliRunner().invoke(
        app, ["import", "--from", "env-jwt", "--format", "env", "-o", str(target), str(source)]
    )
    assert written.exit_code == 0
    assert "AUTHGATE_ISSUER=https://x/oauth2/default" in target.read_text()
    missing = CliRunner().invoke(app, ["import", "--from", "aspnet", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    assert "config.invalid" in missing.stderr
