"""Doctor's local checks (token store, Redis, bootstrap token, policy file) and the CLI contract."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import orjson
import pytest
import typer
from tests.doctor.conftest import doctor, make_ctx, one
from tests.support.idp_server import ServedIdP
from typer.testing import CliRunner

from authgate.cli.doctor import doctor_command
from authgate.doctor import Status
from authgate.gateway.settings import GatewaySettings
from authgate.service_tokens.settings import TokenSettings
from authgate.service_tokens.store import TokenStore

BOOTSTRAP = "agb_" + "b" * 40


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_store_missing_file_not_migrated_then_migrated(idp: ServedIdP, tmp_path: Path) -> None:
    db = tmp_path / "tokens.db"
    tokens = TokenSettings(token_store_url=f"sqlite:///{db}")
    missing = one(doctor(make_ctx(idp, tmp_path, tokens=tokens)), "service-token store")
    assert missing.status is Status.FAIL
    assert "does not exist" in missing.reason
    assert not db.exists()  # doctor never creates a database
    db.touch()
    bare = one(doctor(make_ctx(idp, tmp_path, tokens=tokens)), "service-token store")
    assert bare.status is Status.FAIL
    assert "not migrated" in bare.reason
    assert "authgate tokens migrate" in bare.fix

    async def migrate() -> None:
        store = TokenStore(f"sqlite:///{db}")
        try:
            await store.migrate()
        finally:
            await store.aclose()

    asyncio.run(migrate())
    ready = one(doctor(make_ctx(idp, tmp_path, tokens=tokens)), "service-token store")
    assert ready.status is Status.PASS
    assert "revision" in ready.reason


def test_redis_unreachable(idp: ServedIdP, tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    tokens = TokenSettings(token_store_path=tmp_path / "x.db", redis_url=url)
    gateway = GatewaySettings(redis_url=url)
    report = doctor(make_ctx(idp, tmp_path, tokens=tokens, gateway=gateway))
    found = one(report, "redis")  # one URL shared by two components is pinged once
    assert found.status is Status.FAIL
    assert "PING failed" in found.reason
    assert "AUTHGATE_REDIS_URL" in found.fix


def test_bootstrap_token_still_configured_warns(idp: ServedIdP, tmp_path: Path) -> None:
    tokens = TokenSettings(token_store_path=tmp_path / "x.db", bootstrap_token=BOOTSTRAP)
    report = doctor(make_ctx(idp, tmp_path, tokens=tokens))
    found = one(report, "bootstrap token")
    assert found.status is Status.WARN
    assert "unset AUTHGATE_BOOTSTRAP_TOKEN" in found.fix
    assert BOOTSTRAP not in orjson.dumps(report.to_dict()).decode()  # never echoed
    assert report.exit_code == 1


def test_invalid_policy_file(idp: ServedIdP, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rules]]\npath = "/a"\nscope = ["x"]\n')
    found = one(
        doctor(make_ctx(idp, tmp_path, gateway=GatewaySettings(policy_file=policy))),
        "policy file",
    )
    assert found.status is Status.FAIL
    assert found.code == "config.invalid"
    assert "policy.toml:3" in found.reason


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> typer.Typer:
    monkeypatch.setenv("AUTHGATE_TOKEN_STORE_PATH", str(tmp_path / "absent" / "tokens.db"))
    monkeypatch.delenv("AUTHGATE_CONFIG", raising=False)
    app = typer.Typer()
    app.command()(doctor_command)
    return app


def test_cli_json_and_exit_codes(
    cli: typer.Typer, idp: ServedIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHGATE_ISSUER", idp.issuer())
    monkeypatch.setenv("AUTHGATE_AUDIENCES", "api://default")
    ok = CliRunner().invoke(cli, ["--json"])
    assert ok.exit_code == 0, ok.output
    data = orjson.loads(ok.stdout)
    assert data["exit_code"] == 0
    assert {c["check"].split(" [")[0] for c in data["checks"]} >= {"discovery", "jwks", "issuer"}
    monkeypatch.setenv("AUTHGATE_BOOTSTRAP_TOKEN", BOOTSTRAP)
    assert CliRunner().invoke(cli, ["--json"]).exit_code == 1
    monkeypatch.setenv("AUTHGATE_ISSUER", idp.issuer() + "/")
    bad = CliRunner().invoke(cli, [])
    assert bad.exit_code == 2
    assert "FAIL issuer [" in bad.stdout
    assert "trailing slash" in bad.stdout


def test_cli_invalid_setting_is_one_failed_check(
    cli: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHGATE_LEEWAY", "forever")
    result = CliRunner().invoke(cli, ["--json"])
    assert result.exit_code == 2
    checks = orjson.loads(result.stdout)["checks"]
    failed = [c for c in checks if c["check"] == "settings [issuers]"]
    assert failed[0]["code"] == "config.invalid"
    assert "AUTHGATE_LEEWAY" in failed[0]["reason"]
