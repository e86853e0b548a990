"""``authgate serve`` assembly end to end: config file → builder → app, against the dev IdP.

The gateway is built by :func:`authgate.gateway.server.build_app` from a TOML file exactly as
``authgate serve --config`` does (issuer discovery, SQLite token store migrated at startup,
bootstrap token, policy file), served with its lifespan, and driven over HTTP: health,
readiness, metrics, forward auth with a real client-credentials token (role from the IdP), the
admin token API behind an admin scope, and the CLI ``authgate policy`` commands.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.gateway.conftest import serve_gateway
from tests.support.asgi_server import Served
from tests.support.idp_server import ServedIdP, running_idp
from typer.testing import CliRunner

from authgate.cli.policy import app as policy_cli
from authgate.gateway.server import build_app

POLICY = """
[[rules]]
name = "health"
path = "/api/v1/health"
public = true

[[rules]]
name = "read"
methods = ["GET"]
path = "/api/v1/policies"
scopes = ["api:read"]

[[rules]]
name = "write"
methods = ["POST"]
path = "/api/v1/policies"
roles = ["Admin"]
"""

BOOTSTRAP = "agb_" + secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def idp() -> Iterator[ServedIdP]:
    with running_idp() as served:
        yield served


def client_token(idp: ServedIdP, app: str) -> str:
    found = idp.idp.app(app)
    assert found is not None
    assert found.client_secret is not None
    response = httpx.post(
        idp.endpoint("token"),
        data={"grant_type": "client_credentials", "scope": "api:read"},
        auth=(found.client_id, found.client_secret),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def config(tmp_path: Path, idp: ServedIdP, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "policy.toml").write_text(POLICY)
    file = tmp_path / "authgate.toml"
    file.write_text(
        f'[[issuers]]\nissuer = "{idp.issuer()}"\naudiences = ["api://default"]\n\n'
        f'[gateway]\npolicy_file = "{tmp_path / "policy.toml"}"\naccess_log = false\n'
    )
    monkeypatch.setenv("AUTHGATE_TOKEN_STORE_PATH", str(tmp_path / "tokens.db"))
    monkeypatch.setenv("AUTHGATE_BOOTSTRAP_TOKEN", BOOTSTRAP)
    return file


@pytest.fixture
def gateway(config: Path) -> Iterator[Served]:
    with serve_gateway(build_app(config)) as served:
        yield served


def test_system_routes(gateway: Served) -> None:
    with httpx.Client(base_url=gateway.url) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["keys"]["ok"] is True
        assert ready.json()["checks"]["token_store"]["ok"] is True
        assert http.get("/.well-known/jwks.json").json() == {"keys": []}
        assert "x-request-id" in ready.headers


def test_forward_auth_with_dev_idp_tokens_and_metrics(gateway: Served, idp: ServedIdP) -> None:
    user, admin = client_token(idp, "demo-service"), client_token(idp, "demo-admin")
    with httpx.Client(base_url=gateway.url) as http:

        def authz(method: str, token: str) -> httpx.Response:
            headers = {"X-Original-Method": method, "X-Original-URI": "/api/v1/policies"}
            return http.get("/authz", headers={**headers, "Authorization": f"Bearer {token}"})

        assert authz("GET", user).status_code == 200
        refused = authz("POST", user)
        assert refused.status_code == 403
        assert refused.json()["message"].startswith("Admin role missing")
        assert authz("POST", admin).status_code == 200
        metrics = http.get("/metrics").text
    assert 'authgate_gateway_requests_total{decision="allow",route="read"} 1.0' in metrics
    assert 'authgate_gateway_requests_total{decision="forbidden",route="write"} 1.0' in metrics
    assert "authgate_jwks_refreshes_total" in metrics
    assert "authgate_verdict_cache_hits_total" in metrics


def test_admin_api_needs_an_admin_scope(gateway: Served, idp: ServedIdP) -> None:
    with httpx.Client(base_url=gateway.url) as http:
        assert http.get("/__authgate/api/tokens").status_code == 401
        user = client_token(idp, "demo-service")
        denied = http.get("/__authgate/api/tokens", headers={"Authorization": f"Bearer {user}"})
        assert (denied.status_code, denied.json()["code"]) == (403, "auth.insufficient_scope")
        ok = http.get("/__authgate/api/tokens", headers={"Authorization": f"Bearer {BOOTSTRAP}"})
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"tokens": []}


def flat(output: str) -> str:
    """CLI output with rich's line wrapping undone."""
    return " ".join(output.split())


def test_cli_policy_check_and_test(config: Path, idp: ServedIdP, tmp_path: Path) -> None:
    runner = CliRunner()
    policy = tmp_path / "policy.toml"
    checked = runner.invoke(policy_cli, ["check", str(policy)])
    assert checked.exit_code == 0, checked.output
    assert "3 rules" in flat(checked.output)
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules:\n  - path: /a\n    scope: [x]\n")
    bad = runner.invoke(policy_cli, ["check", str(broken)])
    assert bad.exit_code == 1
    assert "broken.yaml:3" in bad.output.replace("\n", "")
    assert "scopes" in flat(bad.output)
    user = client_token(idp, "demo-service")
    args = [
        "test",
        "POST",
        "https://api.test/api/v1/policies",
        "--token",
        user,
        "--config",
        str(config),
    ]
    explained = runner.invoke(policy_cli, args)
    assert explained.exit_code == 2, explained.output
    assert "rule 'write'" in flat(explained.output)
    assert "auth.role_missing" in flat(explained.output)
    allowed = runner.invoke(
        policy_cli,
        [
            "test",
            "GET",
            "https://api.test/api/v1/policies",
            "--token",
            user,
            "--config",
            str(config),
        ],
    )
    assert allowed.exit_code == 0, allowed.output
    assert "ALLOW" in flat(allowed.output)
    nowhere = runner.invoke(
        policy_cli, ["test", "GET", "https://api.test/x", "--policy", str(policy)]
    )
    assert nowhere.exit_code == 2
    assert "default deny" in flat(nowhere.output)
