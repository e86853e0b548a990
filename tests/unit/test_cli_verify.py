"""``authgate verify`` and ``authgate inspect`` through the real command (Typer app)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tests.support.jwks_server import JWKSServer
from tests.support.tokens import (
    AUDIENCE,
    ISSUER,
    SigningKey,
    encode,
    hs_key,
    jwks,
    okta_claims,
    rsa_key,
)
from typer.testing import CliRunner

from authgate.cli.main import app

RUNNER = CliRunner()
KEY = rsa_key()


def fresh(key: SigningKey = KEY, *, no_kid: bool = False, **claims: object) -> str:
    return encode(key, okta_claims(now=int(time.time()), **claims), no_kid=no_kid)


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(KEY)))
    return path


def base(jwks_file: Path) -> list[str]:
    return ["verify", "--issuer", ISSUER, "--audience", AUDIENCE, "--jwks-file", str(jwks_file)]


def test_verify_ok_json(jwks_file: Path) -> None:
    result = RUNNER.invoke(app, [*base(jwks_file), fresh(), "--json"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout)
    assert line["ok"] is True
    assert line["principal"]["subject"] == "alice@example.com"


def test_verify_failure_names_code_and_exits_1(jwks_file: Path) -> None:
    result = RUNNER.invoke(app, [*base(jwks_file), fresh(aud="api://other")])
    assert result.exit_code == 1
    assert "auth.invalid_audience" in result.stderr
    assert "api://default" in result.stderr


def test_required_scope_flag(jwks_file: Path) -> None:
    result = RUNNER.invoke(
        app, [*base(jwks_file), "--required-scope", "api:admin", fresh(), "--json"]
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["code"] == "auth.insufficient_scope"


def test_stdin_batch_one_json_line_per_token(jwks_file: Path) -> None:
    tokens = [fresh(), fresh(exp=int(time.time()) - 3600), "not-a-token", fresh()]
    result = RUNNER.invoke(app, [*base(jwks_file), "-"], input="\n".join(tokens) + "\n")
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["ok"] for line in lines] == [True, False, False, True]
    assert lines[1]["code"] == "auth.token_expired"
    assert lines[2]["code"] == "auth.malformed_token"
    assert all("not-a-token" not in json.dumps(line) for line in lines)  # never echo the token


def test_stdin_all_ok_exits_0(jwks_file: Path) -> None:
    result = RUNNER.invoke(app, [*base(jwks_file), "-"], input=f"{fresh()}\n{fresh()}\n")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 2


def test_hs256_secret_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    key = hs_key(secret=b"s" * 40)
    monkeypatch.setenv("MY_SECRET", "s" * 40)
    args = ["verify", "--issuer", ISSUER, "--audience", AUDIENCE, "--secret-env", "MY_SECRET"]
    result = RUNNER.invoke(app, [*args, "--algorithm", "HS256", fresh(key, no_kid=True)])
    assert result.exit_code == 0, result.stderr
    # a kid the configured secret does not carry is not guessed at
    result = RUNNER.invoke(app, [*args, "--algorithm", "HS256", fresh(key), "--json"])
    assert json.loads(result.stdout)["code"] == "auth.unknown_key"
    # the default allow-list is RS256 only: an HS256 token is refused unless allowed explicitly
    result = RUNNER.invoke(app, [*args, fresh(key, no_kid=True), "--json"])
    assert json.loads(result.stdout)["code"] == "auth.unsupported_algorithm"


def test_jwks_url_on_loopback() -> None:
    with JWKSServer() as srv:
        srv.set_keys([KEY.jwk])
        args = ["verify", "--issuer", ISSUER, "--audience", AUDIENCE, "--jwks-url", srv.jwks_url]
        result = RUNNER.invoke(app, [*args, fresh(), "--json"])
        assert result.exit_code == 0, result.output
        assert srv.fetch_count == 1


def test_http_jwks_url_off_loopback_is_refused() -> None:
    args = ["verify", "--issuer", ISSUER, "--jwks-url", "http://idp.example.com/keys", fresh()]
    result = RUNNER.invoke(app, args)
    assert result.exit_code == 2
    assert "config.invalid" in result.stderr


def test_flags_without_issuer_are_a_usage_error() -> None:
    result = RUNNER.invoke(app, ["verify", "--audience", "x", fresh()])
    assert result.exit_code == 2
    assert "--issuer" in result.stderr


def test_inspect_labels_unverified_and_hints() -> None:
    token = fresh(nonce="n", scp=...)
    result = RUNNER.invoke(app, ["inspect", token, "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["verified"] is False
    assert any("ID token" in h for h in data["hints"])
    human = RUNNER.invoke(app, ["inspect", fresh(exp=int(time.time()) - 10)])
    assert "UNVERIFIED" in human.stdout
    assert "expired" in human.stdout


def test_inspect_jwe_and_garbage() -> None:
    assert "JWE" in RUNNER.invoke(app, ["inspect", "a.b.c.d.e"]).stderr
    result = RUNNER.invoke(app, ["inspect", "abc"])
    assert result.exit_code == 1
    assert "auth.malformed_token" in result.stderr


def test_version() -> None:
    result = RUNNER.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("authgate ")
