"""DPoP nonce dance, DPoP resource calls, the Management API (SSWS/OAuth, paging, 403s), key
rotation mid-run and the 401 → refresh → retry path of the httpx.Auth flow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.okta.conftest import okta_config, token_requests
from tests.support.idp_server import ServedIdP, running_idp

from authgate.clock import ManualClock
from authgate.errors import ErrorCode
from authgate.idp.config import IdPConfig
from authgate.idp.jwt_util import parse_compact
from authgate.okta.auth import ClientCredentialsAuth
from authgate.okta.dpop import DPoPSigner, access_token_hash
from authgate.okta.errors import OktaError
from authgate.okta.management import ManagementClient, SSWSAuth
from authgate.okta.token_client import OktaTokenClient
from authgate.okta.transport import ResilientTransport

MakeClient = Callable[..., OktaTokenClient]
READ = ["okta.users.read", "okta.groups.read"]


def test_dpop_nonce_challenge_is_answered_with_fresh_assertion_and_proof(
    served: ServedIdP, make_client: MakeClient
) -> None:
    client = make_client("demo-dpop", server="org", dpop=True)
    token = client.client_credentials(READ)
    assert token.token_type == "DPoP"
    claims = served.idp.validate_access_token(token.access_token, "org")
    assert claims is not None
    assert claims["cnf"]["jkt"] == client.dpop.jkt
    # 400 use_dpop_nonce, then 200 — the IdP burnt the first assertion's jti, so the retry
    # could only pass with a fresh client assertion.
    assert [r.status for r in served.idp.request_log.records(path="/v1/token")] == [400, 200]


def test_app_requiring_dpop_without_dpop_hints_to_enable_it(make_client: MakeClient) -> None:
    with pytest.raises(OktaError) as caught:
        make_client("demo-dpop", server="org").client_credentials(READ)
    assert caught.value.code is ErrorCode.OKTA_DPOP_REQUIRED
    assert "this app requires DPoP: enable it in authgate or untick it in Okta" in (
        caught.value.hint or ""
    ).replace(" (AUTHGATE_OKTA_DPOP=true)", "")


def test_proof_claims(clock: ManualClock) -> None:
    signer = DPoPSigner.generate(clock=clock)
    signer.remember_nonce("https://org.example/oauth2/v1/token", "n-1")
    proof = signer.proof("get", "https://org.example/api/v1/users?limit=2#x", access_token="tok")
    header, claims = parse_compact(proof)
    assert header["typ"] == "dpop+jwt"
    assert header["alg"] == "ES256"
    assert "d" not in header["jwk"]
    assert "kid" not in header
    assert claims["htm"] == "GET"
    assert claims["htu"] == "https://org.example/api/v1/users"
    assert claims["iat"] == int(clock.time())
    assert claims["nonce"] == "n-1"
    assert claims["ath"] == access_token_hash("tok")
    assert parse_compact(signer.proof("GET", "https://org.example/x"))[1]["jti"] != claims["jti"]


@pytest.mark.anyio
async def test_management_with_dpop_bound_token(
    served: ServedIdP, make_client: MakeClient, transport: ResilientTransport
) -> None:
    # demo-dpop has no admin role: the call authenticates (DPoP proof with ath) and is then refused.
    client = make_client("demo-dpop", server="org", dpop=True)
    async with ManagementClient(
        served.url, ClientCredentialsAuth(client, READ), transport=transport
    ) as api:
        with pytest.raises(OktaError) as caught:
            await api.user_groups("alice@example.com")
    await client.aclose()
    assert caught.value.code is ErrorCode.OKTA_FORBIDDEN
    assert caught.value.error == "E0000006"
    assert "admin role" in (caught.value.hint or "")


def _many_groups() -> IdPConfig:
    raw: dict[str, Any] = okta_config().model_dump()
    extra = [{"name": f"Team-{i:03d}"} for i in range(250)]
    raw["groups"].extend(extra)
    for user in raw["users"]:
        if user["login"] == "alice@example.com":
            user["groups"].extend(g["name"] for g in extra)
    return IdPConfig.model_validate(raw)


@pytest.mark.anyio
async def test_user_groups_follow_link_paging_with_ssws(
    clock: ManualClock, transport: ResilientTransport
) -> None:
    with running_idp(_many_groups(), clock=clock) as served:
        async with ManagementClient(
            served.url, SSWSAuth("dev-ssws-token"), transport=transport
        ) as api:
            groups = await api.user_groups("alice@example.com")
            user = await api.user("alice@example.com")
        pages = served.idp.request_log.records(path="/groups")
    await transport.aclose()
    assert len(groups) == 252
    assert len({g.id for g in groups}) == 252
    assert len(pages) == 2  # 200 + 52
    assert user.login == "alice@example.com"
    assert user.first_name == "Alice"


@pytest.mark.anyio
async def test_management_oauth_private_key_jwt(
    served: ServedIdP, make_client: MakeClient, transport: ResilientTransport
) -> None:
    client = make_client("demo-jwt", server="org")
    async with ManagementClient(
        served.url, ClientCredentialsAuth(client, [*READ, "okta.apps.read"]), transport=transport
    ) as api:
        names = {g.name for g in await api.user_groups("bob@example.com")}
        apps = await api.apps()
        users = await api.users()
        groups = await api.groups()
    await client.aclose()
    assert names == {"Everyone", "Operators"}
    assert any(a.label == "demo-jwt" and a.client_id == client.client_id for a in apps)
    assert {u.login for u in users} >= {"alice@example.com", "bob@example.com"}
    assert any(g.type == "BUILT_IN" for g in groups)


@pytest.mark.anyio
async def test_missing_scope_maps_to_forbidden_with_scope_hint(
    served: ServedIdP, make_client: MakeClient, transport: ResilientTransport
) -> None:
    client = make_client("demo-jwt", server="org")
    async with ManagementClient(
        served.url, ClientCredentialsAuth(client, ["okta.users.read"]), transport=transport
    ) as api:
        with pytest.raises(OktaError) as caught:
            await api.groups()
    await client.aclose()
    assert caught.value.code is ErrorCode.OKTA_FORBIDDEN
    assert caught.value.status == 403
    assert caught.value.error == "insufficient_scope"
    assert "okta.groups.read" in (caught.value.description or "")
    assert "Okta API Scopes" in (caught.value.hint or "")


@pytest.mark.anyio
async def test_bad_ssws_token_and_unknown_user(
    served: ServedIdP, transport: ResilientTransport
) -> None:
    async with ManagementClient(served.url, SSWSAuth("not-the-token"), transport=transport) as api:
        with pytest.raises(OktaError) as bad:
            await api.groups()
    async with ManagementClient(served.url, SSWSAuth("dev-ssws-token"), transport=transport) as api:
        with pytest.raises(OktaError) as missing:
            await api.user_groups("nobody@example.com")
    await transport.aclose()
    assert bad.value.code is ErrorCode.OKTA_INVALID_CLIENT
    assert bad.value.error == "E0000011"
    assert "API token" in (bad.value.hint or "")
    assert missing.value.code is ErrorCode.OKTA_NOT_FOUND
    assert missing.value.status == 404


@pytest.mark.anyio
async def test_revoked_token_is_refreshed_and_request_retried_once(
    served: ServedIdP, make_client: MakeClient, transport: ResilientTransport
) -> None:
    client = make_client("demo-jwt", server="org")
    async with ManagementClient(
        served.url, ClientCredentialsAuth(client, READ), transport=transport
    ) as api:
        await api.user_groups("bob@example.com")
        served.idp.revoke_all()  # the cached token is now refused with 401 E0000011
        names = {g.name for g in await api.user_groups("bob@example.com")}
    await client.aclose()
    assert names == {"Everyone", "Operators"}
    assert token_requests(served, "client_credentials", 200) == 2
    statuses = [r.status for r in served.idp.request_log.records(path="/groups")]
    assert statuses == [200, 401, 200]


def test_sync_flow_refreshes_on_invalid_token_challenge(
    served: ServedIdP, make_client: MakeClient
) -> None:
    import httpx

    # userinfo answers 401 + WWW-Authenticate invalid_token for a client-credentials token
    # (it has no user): exactly one refresh and one retry, then the 401 is returned.
    svc = make_client("demo-service")
    with httpx.Client(auth=ClientCredentialsAuth(svc, ["api:read"])) as http:
        response = http.get(served.endpoint("userinfo"))
    assert response.status_code == 401
    assert token_requests(served, "client_credentials") == 2
    assert len(served.idp.request_log.records(path="/v1/userinfo")) == 2


@pytest.mark.anyio
async def test_key_rotation_mid_run(
    served: ServedIdP, make_client: MakeClient, transport: ResilientTransport, clock: ManualClock
) -> None:
    client = make_client("demo-jwt", server="org")
    auth = ClientCredentialsAuth(client, READ)
    async with ManagementClient(served.url, auth, transport=transport) as api:
        await api.user_groups("bob@example.com")
        old_kid = parse_compact((await auth.atoken()).access_token)[0]["kid"]
        served.idp.rotate_keys("org")
        await api.user_groups(
            "bob@example.com"
        )  # the cached token, signed by the old key, still works
        clock.advance(3600)  # expired: the next call fetches a token signed with the new key
        await api.user_groups("bob@example.com")
        new_kid = parse_compact((await auth.atoken()).access_token)[0]["kid"]
    await client.aclose()
    assert old_kid != new_kid
    assert token_requests(served, "client_credentials", 200) == 2
