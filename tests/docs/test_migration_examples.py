"""Each migration guide's worked example: converted as documented, and working against the dev IdP."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry
from tests.support.idp_server import ServedIdP, running_idp

from authgate.aaa.backends.okta import OktaBackend
from authgate.aaa.config import load_config
from authgate.config_import import convert
from authgate.gateway.settings import load_gateway_settings
from authgate.okta.metrics import OktaMetrics
from authgate.okta.settings import load_okta_settings
from authgate.principal import Principal
from authgate.settings import load_settings
from authgate.verifier_builder import build_verifier

ROOT = Path(__file__).resolve().parents[2]
GUIDES = ROOT / "docs" / "migration"
EXAMPLE_HOST = "https://dev-123456.okta.com"
SERVICE_SECRET = "demo-service-secret-DEV-ONLY-0123456789"


def example(source: str, marker: str) -> str:
    text = (GUIDES / f"{source}.md").read_text(encoding="utf-8")
    found = re.search(rf"<!-- example-{marker} -->\n```[a-z]*\n(.*?)\n```", text, re.DOTALL)
    assert found is not None, f"docs/migration/{source}.md has no example-{marker} block"
    return found.group(1) + "\n"


@pytest.fixture(scope="module")
def idp() -> Any:
    with running_idp() as served:
        yield served


def service_token(idp: ServedIdP) -> str:
    app = idp.idp.config.app("demo-service")
    assert app is not None
    response = httpx.post(
        idp.endpoint("token"),
        data={"grant_type": "client_credentials", "scope": "api:read"},
        auth=(app.client_id, SERVICE_SECRET),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def converted(source: str, idp: ServedIdP, tmp_path: Path) -> Path:
    """The guide's input converted; the output must equal the guide's output block."""
    result = convert(source, example(source, "input"))
    assert result.to_toml() == example(source, "output"), f"update docs/migration/{source}.md"
    path = tmp_path / "authgate.toml"
    path.write_text(result.to_toml().replace(EXAMPLE_HOST, idp.url), encoding="utf-8")
    return path


def verify(idp: ServedIdP, path: Path) -> Principal:
    async def run() -> Principal:
        verifier = build_verifier(load_settings(path))
        try:
            return await verifier.averify(service_token(idp))
        finally:
            await verifier.aclose()

    return asyncio.run(run())


@pytest.mark.parametrize("source", ["aspnet", "env-jwt", "orcheo"])
def test_jwt_guides_verify_a_dev_idp_token(source: str, idp: ServedIdP, tmp_path: Path) -> None:
    path = converted(source, idp, tmp_path)
    principal = verify(idp, path)
    assert principal.issuer == idp.issuer()
    assert "api:read" in principal.scopes
    assert principal.roles == {"User"}


def test_env_jwt_guide_configures_token_exchange(idp: ServedIdP, tmp_path: Path) -> None:
    path = converted("env-jwt", idp, tmp_path)
    okta = load_okta_settings(path)
    assert okta.client_id == "0oa1exchange2client3"
    assert okta.issuer == idp.issuer()
    assert load_gateway_settings(path).exchange_audience == "api://orders"


def test_orcheo_guide_keeps_auth_mode(idp: ServedIdP, tmp_path: Path) -> None:
    assert load_settings(converted("orcheo", idp, tmp_path)).auth_mode == "required"


def test_tacacs_ini_guide_authenticates_a_dev_idp_user(
    idp: ServedIdP, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = convert("tacacs-ini", example("tacacs-ini", "input"))
    assert result.to_toml() == example("tacacs-ini", "output")
    data = yaml.safe_load(result.to_yaml().replace(EXAMPLE_HOST, idp.url))
    data["okta"]["allow_insecure_http"] = True  # the dev IdP serves http on loopback
    monkeypatch.setenv("OKTA_API_TOKEN", "dev-ssws-token")
    config = load_config(data=data)
    assert config.group_privilege_map["Network-Admins"] == 15

    async def run() -> tuple[str, frozenset[str]]:
        assert config.okta is not None
        backend = OktaBackend(config.okta, config.mfa, metrics=OktaMetrics(CollectorRegistry()))
        try:
            answer = await backend.authenticate("bob@example.com", "Bob-DEV-only-1")
        finally:
            await backend.aclose()
        return str(answer.outcome), answer.groups

    outcome, groups = asyncio.run(run())
    assert outcome == "accept"
    assert "Operators" in groups
