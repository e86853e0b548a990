"""``authgate demo --once``: the README's first command walks through every gateway behaviour."""

from __future__ import annotations

from typer.testing import CliRunner

from authgate.cli.main import app


def test_demo_walkthrough_runs_every_step_in_process() -> None:
    result = CliRunner().invoke(app, ["demo", "--once", "--port", "0"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "UNEXPECTED" not in out
    results = [line for line in out.splitlines() if line.startswith("#   → ")]
    assert len(results) == 13
    assert results[0].startswith("#   → 401")
    assert "auth.missing_token" in results[0]
    assert "auth.role_missing" in results[3]
    assert "Admin role missing" in results[3]
    assert '"x-authgate-kind":"client"' in results[8]  # the DPoP-bound client call
    assert '"cid":' in results[10]
    assert '"sub":"bob@example.com"' in results[10]
    assert '"sha256":' in results[11]
    assert results[12] == "#   → 101 hello authgate  [ok]"
    assert "/__authgate/" in out
    assert "BOOTSTRAP=agb_" in out
