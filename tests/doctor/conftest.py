"""Doctor harness: a dev IdP (demo org, or a copy changed to be wrong) and a settings builder."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.support.idp_server import ServedIdP, running_idp

from authgate.doctor import DoctorContext, Report, run_doctor
from authgate.gateway.settings import GatewaySettings
from authgate.idp.config import IdPConfig
from authgate.idp.demo_config import DEMO
from authgate.okta.settings import OktaSettings
from authgate.service_tokens.settings import TokenSettings
from authgate.settings import AuthgateSettings

SECRETS = {app["name"]: app.get("client_secret") for app in DEMO["apps"]}
SECRETS["demo-service"] = "demo-service-secret-DEV-ONLY-0123456789"


@pytest.fixture
def idp() -> Iterator[ServedIdP]:
    with running_idp() as served:
        yield served


def demo_with(change: Callable[[dict[str, Any]], None]) -> IdPConfig:
    """The demo org with one deliberate misconfiguration applied."""
    raw = copy.deepcopy(DEMO)
    change(raw)
    return IdPConfig.from_mapping(raw)


def server(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in raw["servers"] if s["name"] == name)


def okta_for(
    served: ServedIdP, app: str = "demo-service", server_id: str = "default", **fields: Any
) -> OktaSettings:
    config = served.idp.config.app(app)
    assert config is not None
    values: dict[str, Any] = {"issuer": served.issuer(server_id), "client_id": config.client_id}
    if SECRETS.get(app) and "private_key_file" not in fields:
        values["client_secret"] = SECRETS[app]
    values.update(fields)
    return OktaSettings(**values)


def key_file(served: ServedIdP, app: str, tmp_path: Path) -> Path:
    """The app's generated private key as a JWK file (what private_key_jwt signs with)."""
    path = tmp_path / f"{app}.jwk"
    path.write_bytes(orjson.dumps(served.idp.client_private_jwk(app)))
    return path


def make_ctx(
    served: ServedIdP,
    tmp_path: Path,
    *,
    okta: OktaSettings | None = None,
    gateway: GatewaySettings | None = None,
    tokens: TokenSettings | None = None,
    subject_token: str | None = None,
    **issuer: Any,
) -> DoctorContext:
    fields: dict[str, Any] = {"issuer": served.issuer(), "audiences": ["api://default"]}
    fields.update(issuer)
    return DoctorContext(
        settings=AuthgateSettings(**fields),
        okta=okta,
        gateway=gateway or GatewaySettings(),
        tokens=tokens or TokenSettings(token_store_path=tmp_path / "absent" / "tokens.db"),
        subject_token=subject_token,
        timeout=5.0,
    )


def doctor(ctx: DoctorContext) -> Report:
    return asyncio.run(run_doctor(ctx))


def one(report: Report, check: str) -> Any:
    found = report.by_check(check)
    assert len(found) == 1, [r.check for r in report.results]
    return found[0]


def user_token(served: ServedIdP, server_id: str, scope: str) -> str:
    """alice's access token from ``server_id`` (password grant of demo-native)."""
    app = served.idp.config.app("demo-native")
    assert app is not None
    response = httpx.post(
        served.endpoint("token", server_id),
        data={
            "grant_type": "password",
            "username": "alice@example.com",
            "password": "Alice-DEV-only-1",
            "scope": scope,
        },
        auth=(app.client_id, SECRETS["demo-native"] or ""),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])
