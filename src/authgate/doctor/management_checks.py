"""Doctor check of the Okta Management API (okta-wire §5): one page of groups, rate-limit headroom.

One ``GET /api/v1/groups?limit=1`` with the configured credential — an SSWS API token, or an
org-authorization-server token with ``okta.*`` scopes — tells whether the scopes are granted
(``insufficient_scope``), whether the principal holds an admin role (403 ``E0000006``), and,
from ``X-Rate-Limit-Limit``/``-Remaining``, how much of the minute's budget is left.
"""

from __future__ import annotations

import httpx

from authgate.doctor.context import DoctorContext
from authgate.doctor.okta_checks import explain
from authgate.doctor.report import CheckResult, Status
from authgate.errors import AuthgateError, ConfigError
from authgate.okta.auth import ClientCredentialsAuth
from authgate.okta.errors import ErrorContext, OktaError, error_from_response
from authgate.okta.management import SSWSAuth
from authgate.okta.settings import build_token_client, build_transport
from authgate.okta.token_client import OktaTokenClient
from authgate.okta.transport import ResilientTransport, make_async_client

__all__ = ["check_management"]

_LOW_HEADROOM = 0.1


def _auth(
    ctx: DoctorContext, org: str, transport: ResilientTransport
) -> tuple[httpx.Auth, str, OktaTokenClient | None]:
    assert ctx.okta is not None
    token = ctx.okta.api_token()
    if token:
        return SSWSAuth(token), "SSWS API token", None
    if "/oauth2/" in org:
        raise ConfigError(
            "AUTHGATE_OKTA_MANAGEMENT_URL",
            "must be the org URL (https://{domain}), not a custom AS",
        )
    client = build_token_client(ctx.okta, clock=ctx.clock, transport=transport, issuer=org)
    scopes = ctx.okta.management_scopes
    return ClientCredentialsAuth(client, scopes), f"OAuth ({' '.join(scopes)})", client


def _headroom(response: httpx.Response) -> tuple[str, bool]:
    limit = response.headers.get("x-rate-limit-limit")
    remaining = response.headers.get("x-rate-limit-remaining")
    if not (limit and remaining and limit.isdigit() and remaining.isdigit()):
        return "no rate-limit headers", False
    low = int(remaining) < _LOW_HEADROOM * int(limit)
    return f"{remaining} of {limit} requests left in this window", low


def _refusal(error: OktaError, how: str) -> tuple[str, str]:
    said = (error.description or "").lower()
    if error.error == "insufficient_scope" or ("scope" in said and error.status == 403):
        return (
            f"the {how} credential lacks an okta.* scope for groups ({error.description})",
            "grant okta.groups.read to the app (Okta API Scopes tab) and list it in "
            "AUTHGATE_OKTA_MANAGEMENT_SCOPES",
        )
    if error.error == "E0000006":
        return (
            f"the {how} credential has no admin role (403 E0000006)",
            "assign an admin role (e.g. Read-only Administrator) to the service app or to the "
            "API token's user",
        )
    return error.detail, error.hint or "see docs/troubleshooting.md for this code"


async def check_management(ctx: DoctorContext) -> CheckResult:
    check = "okta management api"
    okta = ctx.okta
    if okta is None or not (okta.api_token() or okta.management_url):
        return CheckResult(check, Status.SKIP, "no Management API credential configured")
    org = (okta.management_url or okta.issuer or "").rstrip("/")
    if not org:
        return CheckResult(check, Status.FAIL, "no org URL", fix="set AUTHGATE_OKTA_MANAGEMENT_URL")
    ctx.progress("okta management api")
    transport = build_transport(okta, clock=ctx.clock, name="okta-management")
    token_client: OktaTokenClient | None = None
    try:
        auth, how, token_client = _auth(ctx, org, transport)
        async with make_async_client(transport, auth=auth) as client:
            response = await client.get(f"{org}/api/v1/groups", params={"limit": "1"})
    except OktaError as error:  # the token for the Management API was refused
        reason = explain(
            error,
            okta.model_copy(update={"scopes": okta.management_scopes}),
            "client_credentials",
            org,
        )
        return CheckResult(check, Status.FAIL, reason, fix=error.hint or "", code=str(error.code))
    except AuthgateError as error:
        return CheckResult(check, Status.FAIL, error.detail, code=str(error.code))
    finally:
        if token_client is not None:
            await token_client.aclose()
        await transport.aclose()
    if response.status_code != 200:
        refused = error_from_response(response, ErrorContext(api=True))
        reason, fix = _refusal(refused, how)
        return CheckResult(check, Status.FAIL, reason, fix=fix, code=str(refused.code))
    headroom, low = _headroom(response)
    if low:
        return CheckResult(
            check,
            Status.WARN,
            f"groups listed with {how}, but only {headroom}",
            fix="lower AUTHGATE_OKTA_MAX_CONCURRENCY or raise the app's rate-limit share in Okta",
        )
    return CheckResult(check, Status.PASS, f"groups listed with {how}; {headroom}")
