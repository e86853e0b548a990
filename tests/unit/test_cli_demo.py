"""``authgate demo --once``: the README's first command walks through a real token end to end."""

from __future__ import annotations

from typer.testing import CliRunner

from authgate.cli.main import app


def test_demo_walkthrough() -> None:
    result = CliRunner().invoke(app, ["demo", "--once", "--port", "0"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "verified" in out
    assert "kind       client" in out
    assert "auth.role_missing: Admin role missing" in out
    assert "grant_type=client_credentials" in out
