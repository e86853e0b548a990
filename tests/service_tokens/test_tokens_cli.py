"""``authgate tokens`` and ``authgate audit`` through typer's CliRunner on an SQLite store."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from authgate.cli.audit import app as audit_app
from authgate.cli.tokens import app as tokens_app

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AUTHGATE_TOKEN_STORE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("AUTHGATE_AUDIT_SINK", "both")
    monkeypatch.setenv("AUTHGATE_AUDIT_JSON_PATH", str(tmp_path / "audit.jsonl"))
    monkeypatch.delenv("AUTHGATE_REDIS_URL", raising=False)
    return tmp_path


def run(*args: str, app: object = tokens_app) -> str:
    result = runner.invoke(app, list(args))  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    return result.output


def test_token_lifecycle_from_the_cli(cli_env: Path) -> None:
    created = orjson.loads(
        run("create", "--id", "ci", "--scope", "deploy", "--scope", "read", "--workspace", "w1",
            "--expires-in", "30d", "--json")
    )  # fmt: skip
    token = created["token"]
    assert token.startswith("ag_ci_")
    assert created["record"]["scopes"] == ["deploy", "read"]
    listing = run("list")
    assert "ci" in listing
    assert "active" in listing
    assert token not in listing
    shown = orjson.loads(run("show", "ci", "--json"))
    assert shown["workspaces"] == ["w1"]
    rotated = orjson.loads(run("rotate", "ci", "--overlap", "0", "--json"))
    assert rotated["token"] != token
    assert [s["status"] for s in rotated["record"]["secrets"]] == ["rotated", "active"]
    revoked = orjson.loads(run("revoke", "ci", "--reason", "offboarding", "--json"))
    assert revoked["status"] == "revoked"
    assert "revoked" in run("list")
    assert "migrated" in run("migrate")


def test_cli_errors_are_one_line_with_exit_1(cli_env: Path) -> None:
    assert runner.invoke(tokens_app, ["show", "missing"]).exit_code == 1
    run("create", "--id", "dup")
    duplicate = runner.invoke(tokens_app, ["create", "--id", "dup"])
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    bad = runner.invoke(tokens_app, ["create", "--expires-in", "soon"])
    assert bad.exit_code == 2
    assert runner.invoke(tokens_app, ["revoke", "dup"]).exit_code == 2  # --reason is required


def test_bad_settings_name_the_variable(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHGATE_TOKEN_STORE_URL", "mysql://nope/db")
    result = runner.invoke(tokens_app, ["list"])
    assert result.exit_code == 1
    assert "AUTHGATE_TOKEN_STORE_URL" in result.output


def test_new_bootstrap_prints_a_valid_value(cli_env: Path) -> None:
    value = run("new-bootstrap").strip()
    assert value.startswith("agb_")
    assert len(value) == 47


def test_audit_tail_and_search_read_both_sinks(cli_env: Path) -> None:
    token = orjson.loads(run("create", "--id", "aud", "--json"))["token"]
    run("revoke", "aud", "--reason", "test")
    runner.invoke(tokens_app, ["show", "ghost"])
    lines = run("tail", "-n", "10", "--json", app=audit_app).splitlines()
    events = [orjson.loads(line) for line in lines]
    assert [e["action"] for e in events][:2] == ["token.create", "token.revoke"]
    assert token not in "".join(lines)
    failures = run("search", "--outcome", "failure", "--json", app=audit_app).splitlines()
    assert [orjson.loads(x)["token_id"] for x in failures] == ["ghost"]
    by_token = run("search", "--token-id", "aud", "--since", "1h", "--json", app=audit_app)
    assert len(by_token.splitlines()) == 2
    from_file = run(
        "search", "--action", "token.revoke", "--file", str(cli_env / "audit.jsonl"), "--json",
        app=audit_app,
    )  # fmt: skip
    assert orjson.loads(from_file)["token_id"] == "aud"
    table = run("tail", app=audit_app)
    assert "success" in table
    assert "failure" in table
    assert run("search", "--until", "2000-01-01T00:00:00Z", "--json", app=audit_app) == ""
