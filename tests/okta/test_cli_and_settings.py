"""``authgate token fetch|exchange`` and ``authgate okta groups`` (CliRunner on our own apps),
and the settings rules: env prefix, TOML [okta] table, secrets from the environment only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from tests.support.idp_server import ServedIdP, running_idp
from typer.testing import CliRunner

from authgate.cli.okta import app as okta_app
from authgate.cli.token import app as token_app
from authgate.errors import ConfigError
from authgate.okta.settings import load_okta_settings

runner = CliRunner()


@pytest.fixture
def idp() -> Iterator[ServedIdP]:
    with running_idp() as served:
        yield served


@pytest.fixture
def service_env(idp: ServedIdP, monkeypatch: pytest.MonkeyPatch) -> ServedIdP:
    app = idp.idp.config.app("demo-service")
    assert app is not None
    monkeypatch.setenv("AUTHGATE_OKTA_ISSUER", idp.issuer())
    monkeypatch.setenv("AUTHGATE_OKTA_CLIENT_ID", app.client_id)
    monkeypatch.setenv("AUTHGATE_OKTA_CLIENT_SECRET", app.client_secret or "")
    monkeypatch.setenv("AUTHGATE_OKTA_SCOPES", "api:read")
    return idp


def test_fetch_prints_the_token(service_env: ServedIdP) -> None:
    result = runner.invoke(token_app, ["fetch"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert service_env.idp.validate_access_token(token, "default") is not None


def test_fetch_json_and_decode(service_env: ServedIdP) -> None:
    as_json = orjson.loads(runner.invoke(token_app, ["fetch", "--json", "-s", "api:write"]).stdout)
    assert as_json["token_type"] == "Bearer"
    assert as_json["scope"] == "api:write"
    decoded = orjson.loads(runner.invoke(token_app, ["fetch", "--decode"]).stdout)
    assert decoded["verified"] is False
    assert decoded["claims"]["scp"] == ["api:read"]
    assert decoded["header"]["alg"] == "RS256"


def test_fetch_error_is_one_line_with_code(service_env: ServedIdP) -> None:
    result = runner.invoke(token_app, ["fetch", "-s", "openid"])
    assert result.exit_code == 1
    assert "okta.invalid_scope" in result.stderr
    assert "use a custom scope" in result.stderr
    assert "Traceback" not in result.output


def test_fetch_with_private_key_file(
    idp: ServedIdP, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = idp.idp.config.app("demo-jwt")
    assert app is not None
    key = tmp_path / "key.json"
    key.write_bytes(orjson.dumps(idp.idp.client_private_jwk("demo-jwt")))
    args = ["fetch", "--issuer", idp.issuer("org"), "--client-id", app.client_id]
    result = runner.invoke(
        token_app, [*args, "--private-key-file", str(key), "-s", "okta.users.read", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["scope"] == "okta.users.read"


def _subject(idp: ServedIdP) -> str:
    import httpx

    app = idp.idp.config.app("demo-native")
    assert app is not None
    form = {
        "grant_type": "password",
        "username": "bob@example.com",
        "password": "Bob-DEV-only-1",
        "scope": "openid api:read",
    }
    answer = httpx.post(
        idp.endpoint("token"), data=form, auth=(app.client_id, app.client_secret or "")
    )
    return str(answer.json()["access_token"])


@pytest.mark.parametrize("source", ["arg", "stdin", "env"])
def test_exchange_subject_sources(
    idp: ServedIdP, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    app = idp.idp.config.app("demo-exchange")
    assert app is not None
    monkeypatch.setenv("AUTHGATE_OKTA_CLIENT_SECRET", app.client_secret or "")
    subject = _subject(idp)
    args = [
        "exchange",
        "--issuer",
        idp.issuer(),
        "--client-id",
        app.client_id,
        "--audience",
        "api://default",
        "-s",
        "api:read",
        "--decode",
    ]
    stdin = None
    if source == "arg":
        args.insert(1, subject)
    elif source == "stdin":
        args.insert(1, "-")
        stdin = subject + "\n"
    else:
        monkeypatch.setenv("AUTHGATE_OKTA_SUBJECT_TOKEN", subject)
    result = runner.invoke(token_app, args, input=stdin)
    assert result.exit_code == 0, result.output
    claims = orjson.loads(result.stdout)["claims"]
    assert claims["sub"] == "bob@example.com"
    assert claims["cid"] == app.client_id


def test_exchange_without_subject_fails_clearly(
    idp: ServedIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTHGATE_OKTA_SUBJECT_TOKEN", raising=False)
    result = runner.invoke(
        token_app, ["exchange", "--issuer", idp.issuer(), "--client-id", "x", "--audience", "a"]
    )
    assert result.exit_code == 1
    assert "okta.invalid_request" in result.stderr
    assert "no subject token" in result.stderr


def test_okta_groups_table_and_json_with_ssws(
    idp: ServedIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_OKTA_API_TOKEN", "dev-ssws-token")
    monkeypatch.setenv("AUTHGATE_OKTA_SSWS_TOKEN_ENV", "MY_OKTA_API_TOKEN")
    table = runner.invoke(okta_app, ["groups", "alice", "--org-url", idp.url])
    assert table.exit_code == 0, table.output
    assert "Network-Admins" in table.stdout
    assert "Everyone" in table.stdout
    data = orjson.loads(
        runner.invoke(
            okta_app, ["groups", "bob@example.com", "--org-url", idp.url, "--json"]
        ).stdout
    )
    assert {g["name"] for g in data} == {"Everyone", "Operators"}


def test_okta_groups_with_oauth_private_key(
    idp: ServedIdP, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = idp.idp.config.app("demo-jwt")
    assert app is not None
    key = tmp_path / "key.json"
    key.write_bytes(orjson.dumps(idp.idp.client_private_jwk("demo-jwt")))
    monkeypatch.setenv("AUTHGATE_OKTA_CLIENT_ID", app.client_id)
    monkeypatch.setenv("AUTHGATE_OKTA_PRIVATE_KEY_FILE", str(key))
    result = runner.invoke(okta_app, ["groups", "bob@example.com", "--org-url", idp.url, "--json"])
    assert result.exit_code == 0, result.output
    assert {g["name"] for g in orjson.loads(result.stdout)} == {"Everyone", "Operators"}


def test_settings_env_toml_and_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "authgate.toml"
    config.write_text(
        '[okta]\nissuer = "https://org.example/oauth2/default"\nscopes = ["a", "b"]\nretries = 5\n'
    )
    monkeypatch.setenv("AUTHGATE_OKTA_RETRIES", "2")
    settings = load_okta_settings(config, client_id="0oa1")
    assert settings.issuer == "https://org.example/oauth2/default"
    assert settings.scopes == ["a", "b"]
    assert settings.retries == 2  # env beats the file
    assert settings.client_id == "0oa1"  # flags beat both
    assert settings.token_cache_buffer == 300
    assert settings.effective_auth_method() == "client_secret_basic"


def test_secrets_are_refused_in_the_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "authgate.toml"
    config.write_text('[okta]\nclient_secret = "s3cret-in-a-file"\n')
    with pytest.raises(ConfigError) as caught:
        load_okta_settings(config)
    assert "AUTHGATE_OKTA_CLIENT_SECRET" in caught.value.detail
    assert "s3cret-in-a-file" not in caught.value.detail


def test_secret_from_env_is_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHGATE_OKTA_CLIENT_SECRET", "env-secret-value")
    monkeypatch.setenv("AUTHGATE_OKTA_SCOPES", "x, y z")
    settings = load_okta_settings()
    assert settings.client_secret is not None
    assert settings.client_secret.get_secret_value() == "env-secret-value"
    assert "env-secret-value" not in repr(settings)
    assert settings.scopes == ["x", "y", "z"]


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHGATE_OKTA_MAX_CONCURRENCY", "0")
    with pytest.raises(ConfigError) as caught:
        load_okta_settings()
    assert "AUTHGATE_OKTA_MAX_CONCURRENCY" in caught.value.detail
