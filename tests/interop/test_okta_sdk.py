"""Okta's own Python SDK (``okta`` 3.x) against the dev IdP: list a user's groups (okta-wire §5.3).

Software we did not write talks to the Management API subset twice: with an SSWS API token and
with OAuth for Okta (``authorizationMode: PrivateKey`` → client-credentials + private_key_jwt at
the org AS, then ``Bearer``). What it took: the SDK refuses ``http://`` org URLs unless
``testing.testingDisableHttpsCheck`` is set, and ``Client({...})`` nests every key under
``client`` so that switch cannot be passed in the dict — only through the environment variable
``OKTA_TESTING_TESTINGDISABLEHTTPSCHECK`` (or an ``okta.yaml``). The SDK signs its client
assertion with the real clock, so this IdP runs on the system clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from okta.client import Client as OktaClient
from tests.support.idp_server import ServedIdP, running_idp

from authgate.idp.config import IdPConfig

pytestmark = pytest.mark.interop


@pytest.fixture
def idp(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedIdP]:
    # The only way through the SDK's https-only org URL check for a loopback http server.
    monkeypatch.setenv("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")
    with running_idp(IdPConfig.default()) as served:
        yield served


def _names(groups: list[Any]) -> set[str]:
    # GroupProfile is an anyOf wrapper (Okta group / AD group) in the 3.x models.
    return {group.profile.actual_instance.name for group in groups}


@pytest.mark.anyio
async def test_sdk_lists_user_groups_with_ssws_token(idp: ServedIdP) -> None:
    client = OktaClient({"orgUrl": idp.url, "token": "dev-ssws-token"})
    groups, response, error = await client.list_user_groups("alice@example.com")
    assert error is None
    assert response.status_code == 200
    assert _names(groups) == {"Everyone", "Network-Admins"}
    assert all(group.id.startswith("00g") for group in groups)
    assert {str(group.type.value) for group in groups} == {"BUILT_IN", "OKTA_GROUP"}
    calls = idp.idp.request_log.records(path="/api/v1/users/alice@example.com/groups")
    assert [call.status for call in calls] == [200]


@pytest.mark.anyio
async def test_sdk_lists_user_groups_with_private_key_jwt(idp: ServedIdP) -> None:
    app = idp.idp.config.app("demo-jwt")
    assert app is not None
    client = OktaClient(
        {
            "orgUrl": idp.url,
            "authorizationMode": "PrivateKey",
            "clientId": app.client_id,
            "scopes": ["okta.users.read", "okta.groups.read"],
            "privateKey": json.dumps(idp.idp.client_private_jwk("demo-jwt")),
        }
    )
    groups, response, error = await client.list_user_groups("bob@example.com")
    assert error is None
    assert response.status_code == 200
    assert _names(groups) == {"Everyone", "Operators"}
    token_calls = idp.idp.request_log.records(path="/oauth2/v1/token")
    assert [(c.status, c.grant_type, c.client_id) for c in token_calls] == [
        (200, "client_credentials", app.client_id)
    ]
    # A second call reuses the cached token: no new token request.
    await client.list_user_groups("carol@example.com")
    assert len(idp.idp.request_log.records(path="/oauth2/v1/token")) == 1


@pytest.mark.anyio
async def test_sdk_sees_okta_errors(idp: ServedIdP) -> None:
    client = OktaClient({"orgUrl": idp.url, "token": "not-the-token"})
    groups, _, error = await client.list_user_groups("alice@example.com")
    assert groups is None
    assert error is not None
    assert "E0000011" in str(error)
