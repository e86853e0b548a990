"""Error mapping with hints (OAuth errors and E00000xx), and no secret in any log line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from email.utils import formatdate

import httpx
import pytest
from tests.okta.conftest import SECRET_JWT_SECRET
from tests.support.idp_server import ServedIdP

from authgate.errors import ErrorCode
from authgate.okta.auth import ClientCredentialsAuth, PasswordAuth
from authgate.okta.errors import ErrorContext, error_from_response
from authgate.okta.management import ManagementClient, SSWSAuth
from authgate.okta.token_client import OktaTokenClient
from authgate.okta.transport import ResilientTransport


def _oauth(status: int, error: str, description: str = "", **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json={"error": error, "error_description": description}, headers=headers
    )


def _okta(status: int, code: str, summary: str, **headers: str) -> httpx.Response:
    body = {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": "oae1",
        "errorCauses": [],
    }
    return httpx.Response(status, json=body, headers={"X-Okta-Request-Id": "req1", **headers})


@pytest.mark.parametrize(
    ("response", "ctx", "code", "hint"),
    [
        (_oauth(400, "invalid_scope", "Cannot request 'openid' scopes using client credentials."),
         ErrorContext(grant="client_credentials", scopes=("openid",)), ErrorCode.OKTA_INVALID_SCOPE, "use a custom scope"),
        (_oauth(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing."), ErrorContext(),
         ErrorCode.OKTA_DPOP_REQUIRED, "this app requires DPoP: enable it in authgate"),
        (_oauth(400, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof."), ErrorContext(),
         ErrorCode.OKTA_DPOP_REQUIRED, "untick it in Okta"),
        (_oauth(401, "invalid_client", "The client_assertion signature is invalid."),
         ErrorContext(auth_method="private_key_jwt"), ErrorCode.OKTA_INVALID_CLIENT, "signed with the private key (private_key_jwt)"),
        (_oauth(400, "unauthorized_client", "x"), ErrorContext(grant="password"),
         ErrorCode.OKTA_UNAUTHORIZED_CLIENT, "enable the password grant"),
        (_oauth(401, "access_denied", "Policy evaluation failed"), ErrorContext(),
         ErrorCode.OKTA_ACCESS_DENIED, "access policy rule"),
        (_okta(403, "E0000006", "You do not have permission"), ErrorContext(api=True),
         ErrorCode.OKTA_FORBIDDEN, "admin role"),
        (_okta(401, "E0000011", "Invalid token provided"), ErrorContext(api=True),
         ErrorCode.OKTA_INVALID_CLIENT, "API token"),
        (httpx.Response(403, headers={"WWW-Authenticate": 'Bearer scope="okta.groups.read", error="insufficient_scope", error_description="The access token provided does not contain the required scopes."'}),
         ErrorContext(api=True), ErrorCode.OKTA_FORBIDDEN, "Okta API Scopes"),
        (_okta(429, "E0000047", "API call exceeded rate limit", **{"X-Rate-Limit-Reset": "1700000030", "Date": formatdate(1700000000, usegmt=True)}),
         ErrorContext(api=True), ErrorCode.OKTA_RATE_LIMITED, "MAX_CONCURRENCY"),
    ],
)  # fmt: skip
def test_mapping(response: httpx.Response, ctx: ErrorContext, code: ErrorCode, hint: str) -> None:
    error = error_from_response(response, ctx)
    assert error.code is code
    assert error.status == response.status_code
    assert hint in (error.hint or "")
    assert hint in error.detail  # the hint is part of the message users see


def test_rate_limit_error_carries_wait_and_request_id() -> None:
    response = _okta(
        429,
        "E0000047",
        "x",
        **{"X-Rate-Limit-Reset": "1700000030", "Date": formatdate(1700000000, usegmt=True)},
    )
    error = error_from_response(response)
    assert error.retry_after == 30
    assert error.request_id == "req1"
    assert error.error == "E0000047"
    assert error.to_dict()["code"] == "okta.rate_limited"


def test_server_errors_and_garbage() -> None:
    assert error_from_response(_oauth(500, "server_error")).code is ErrorCode.OKTA_UNAVAILABLE
    assert error_from_response(httpx.Response(502, text="<html>")).status == 503
    assert (
        error_from_response(httpx.Response(418, text="teapot")).code is ErrorCode.OKTA_BAD_RESPONSE
    )
    assert error_from_response(httpx.Response(404)).code is ErrorCode.OKTA_NOT_FOUND


@pytest.mark.anyio
async def test_no_secret_token_or_assertion_in_logs(
    served: ServedIdP,
    make_client: Callable[..., OktaTokenClient],
    transport: ResilientTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = [
        SECRET_JWT_SECRET,
        "dev-ssws-token",
        "Alice-DEV-only-1",
        "wrong-password-xyz",
    ]
    svc = make_client("demo-service")
    secrets.append(svc._secret or "")
    secrets.append(svc.client_credentials(["api:read"]).access_token)
    hs = make_client("svc-hs")
    assert hs._assertion is not None
    secrets.append(hs.client_credentials(["api:read"]).access_token)
    password = PasswordAuth(
        make_client("demo-native"),
        "alice@example.com",
        "Alice-DEV-only-1",
        scopes=("openid", "offline_access"),
    )
    issued = password.token()
    secrets += [issued.access_token, issued.refresh_token or "", issued.id_token or ""]
    try:
        PasswordAuth(make_client("demo-native"), "alice@example.com", "wrong-password-xyz").token()
    except Exception as exc:  # the error message must not leak either
        secrets_in_error = [s for s in secrets if s and s in str(exc)]
        assert secrets_in_error == []
    dpop = make_client("demo-dpop", server="org", dpop=True)
    secrets.append(dpop.client_credentials(["okta.users.read"]).access_token)
    jwt = make_client("demo-jwt", server="org")
    auth = ClientCredentialsAuth(jwt, ["okta.groups.read", "okta.users.read"])
    async with ManagementClient(served.url, auth, transport=transport) as api:
        await api.user_groups("alice@example.com")
    async with ManagementClient(served.url, SSWSAuth("dev-ssws-token"), transport=transport) as api:
        await api.user_groups("alice@example.com")
    secrets.append((await auth.atoken()).access_token)
    await jwt.aclose()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "okta token grant=client_credentials" in logged  # the client did log
    for secret in filter(None, secrets):
        assert secret not in logged
    for marker in ("client_assertion=", "eyJ", "Basic ", "SSWS "):
        assert marker not in logged
