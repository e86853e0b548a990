"""Okta's OAuth (RFC 6749 §5.2) and Management API (``E00000xx``) errors as :class:`OktaError`.

Every failure of an outbound Okta call becomes one exception carrying a stable ``okta.*`` code,
what Okta said (``error``/``errorCode``, description/summary, request id) and a ``hint`` naming
the Okta setting to change — "invalid_client" alone does not tell an operator that the app is
configured for ``private_key_jwt`` while authgate sent a client secret. Nothing secret is ever put
into an error: no token, assertion, secret or password, only fingerprints and setting names.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from authgate.errors import AuthgateError, ErrorCode, status_for

__all__ = ["ErrorContext", "OktaError", "error_from_response", "server_wait", "unavailable"]

_DPOP_HINT = (
    "this app requires DPoP: enable it in authgate (AUTHGATE_OKTA_DPOP=true) or untick it in Okta"
)

_OAUTH_CODES: dict[str, ErrorCode] = {
    "invalid_client": ErrorCode.OKTA_INVALID_CLIENT,
    "invalid_scope": ErrorCode.OKTA_INVALID_SCOPE,
    "invalid_grant": ErrorCode.OKTA_INVALID_GRANT,
    "unauthorized_client": ErrorCode.OKTA_UNAUTHORIZED_CLIENT,
    "access_denied": ErrorCode.OKTA_ACCESS_DENIED,
    "consent_required": ErrorCode.OKTA_ACCESS_DENIED,
    "invalid_dpop_proof": ErrorCode.OKTA_DPOP_REQUIRED,
    "use_dpop_nonce": ErrorCode.OKTA_DPOP_REQUIRED,
    "invalid_request": ErrorCode.OKTA_INVALID_REQUEST,
    "invalid_target": ErrorCode.OKTA_INVALID_REQUEST,
    "unsupported_grant_type": ErrorCode.OKTA_UNAUTHORIZED_CLIENT,
    "invalid_token": ErrorCode.OKTA_INVALID_CLIENT,
    "server_error": ErrorCode.OKTA_UNAVAILABLE,
    "temporarily_unavailable": ErrorCode.OKTA_UNAVAILABLE,
}
_MANAGEMENT_CODES: dict[str, ErrorCode] = {
    "E0000004": ErrorCode.OKTA_INVALID_CLIENT,
    "E0000011": ErrorCode.OKTA_INVALID_CLIENT,
    "E0000005": ErrorCode.OKTA_FORBIDDEN,
    "E0000006": ErrorCode.OKTA_FORBIDDEN,
    "E0000007": ErrorCode.OKTA_NOT_FOUND,
    "E0000008": ErrorCode.OKTA_NOT_FOUND,
    "E0000047": ErrorCode.OKTA_RATE_LIMITED,
    "E0000001": ErrorCode.OKTA_INVALID_REQUEST,
    "E0000003": ErrorCode.OKTA_INVALID_REQUEST,
    "E0000031": ErrorCode.OKTA_INVALID_REQUEST,
}


@dataclass(frozen=True)
class ErrorContext:
    """What authgate asked for, so a hint can name the setting (never a credential value)."""

    grant: str | None = None
    scopes: tuple[str, ...] = ()
    auth_method: str | None = None
    dpop: bool = False
    api: bool = False  # a Management API call (SSWS or org-AS token)


class OktaError(AuthgateError):
    """An outbound Okta call failed; ``hint`` says what to change (in Okta or in authgate)."""

    def __init__(
        self,
        code: ErrorCode,
        detail: str,
        *,
        status: int | None = None,
        error: str | None = None,
        description: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        message = detail + (f" — hint: {hint}" if hint else "")
        super().__init__(code, message)
        self.status = status if status is not None else status_for(code)
        self.error = error  # Okta's ``error`` or ``errorCode``
        self.description = description  # Okta's ``error_description`` or ``errorSummary``
        self.request_id = request_id
        self.hint = hint
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": str(self.code), "message": self.detail}
        for name in ("status", "error", "description", "request_id", "hint", "retry_after"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        return body


def unavailable(detail: str, *, retry_after: float | None = None) -> OktaError:
    """Okta could not be reached or kept failing (503)."""
    return OktaError(ErrorCode.OKTA_UNAVAILABLE, detail, retry_after=retry_after)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _challenge_param(header: str, name: str) -> str | None:
    marker = f'{name}="'
    start = header.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = header.find('"', start)
    return header[start:end] if end > start else None


def server_wait(response: httpx.Response, now: float) -> float | None:
    """Seconds the server asks us to wait: ``Retry-After``, else ``X-Rate-Limit-Reset − Date``.

    Okta's reset is epoch seconds on *its* clock, so it is compared with its ``Date`` header
    rather than our clock (a skewed client would otherwise wait far too long or not at all);
    without ``Date`` our wall clock ``now`` stands in.
    """
    value = response.headers.get("retry-after")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            with contextlib.suppress(ValueError, TypeError):
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    reset = response.headers.get("x-rate-limit-reset")
    if reset is None:
        return None
    try:
        reset_at = float(reset)
    except ValueError:
        return None
    date = response.headers.get("date")
    base = now
    if date is not None:
        with contextlib.suppress(ValueError, TypeError):
            base = parsedate_to_datetime(date).timestamp()
    return max(0.0, reset_at - base)


def _hint(code: ErrorCode, error: str, description: str, ctx: ErrorContext) -> str | None:
    text = description.lower()
    if code is ErrorCode.OKTA_DPOP_REQUIRED or "dpop" in text:
        if ctx.dpop and error == "invalid_dpop_proof":
            return "authgate sent a DPoP proof that Okta refused: check the DPoP key and clock skew"
        return _DPOP_HINT
    if code is ErrorCode.OKTA_INVALID_SCOPE:
        if "openid" in text or (ctx.grant == "client_credentials" and "openid" in ctx.scopes):
            return "use a custom scope: OIDC scopes (openid, profile…) cannot be requested with client credentials"
        if "custom scopes are not allowed" in text:
            return "the org authorization server only grants okta.* scopes; use a custom authorization server"
        return "define the scope on the authorization server (Security > API > Scopes) or request another"
    if code is ErrorCode.OKTA_INVALID_CLIENT:
        if ctx.api:
            return "the API token (SSWS) or access token was refused: create a new API token or check the org URL"
        sent = ctx.auth_method or "unknown"
        forms = {
            "client_secret_basic": "an Authorization: Basic header with the client secret",
            "client_secret_post": "client_id and client_secret form fields",
            "client_secret_jwt": "a client_assertion signed with the client secret (HS256)",
            "private_key_jwt": "a client_assertion signed with the private key",
        }
        return (
            f"authgate sent {forms.get(sent, sent)} ({sent}); set the app's Client authentication "
            "in Okta to match, or change AUTHGATE_OKTA_AUTH_METHOD / the key / the secret"
        )
    if code is ErrorCode.OKTA_INVALID_GRANT:
        if "mfa" in text:
            return "this user has MFA enrolled: the password grant cannot be used; use the authn API or exempt the user"
        if "refresh token" in text:
            return (
                "the refresh token expired, was revoked or was reused after rotation: sign in again"
            )
        return "check the username/password, or the grant's validity"
    if code is ErrorCode.OKTA_UNAUTHORIZED_CLIENT:
        grant = ctx.grant or "this grant"
        return f"enable the {grant} grant type on the app in Okta (General > Grant type)"
    if code is ErrorCode.OKTA_ACCESS_DENIED:
        return (
            "add an access policy rule on the authorization server for this app, grant and scopes"
        )
    if code is ErrorCode.OKTA_FORBIDDEN:
        if error == "insufficient_scope":
            return "grant the okta.* scope to the app in Okta (Okta API Scopes tab) and request it"
        return "assign an admin role to the service app or the API token's user in Okta"
    if code is ErrorCode.OKTA_RATE_LIMITED:
        return "lower AUTHGATE_OKTA_MAX_CONCURRENCY or raise the app's rate-limit share in Okta"
    return None


def error_from_response(response: httpx.Response, ctx: ErrorContext | None = None) -> OktaError:
    """Map a non-2xx Okta answer (token endpoint or Management API) to :class:`OktaError`."""
    ctx = ctx or ErrorContext()
    status = response.status_code
    body = _json(response)
    request_id = response.headers.get("x-okta-request-id")
    retry_after = server_wait(response, time.time()) if status in (429, 503) else None
    error = body.get("error") if isinstance(body.get("error"), str) else None
    okta_code = body.get("errorCode") if isinstance(body.get("errorCode"), str) else None
    description = str(body.get("error_description") or body.get("errorSummary") or "")
    challenge = response.headers.get("www-authenticate", "")
    if error is None and okta_code is None and challenge:
        error = _challenge_param(challenge, "error")
        description = description or (_challenge_param(challenge, "error_description") or "")
    if error == "insufficient_scope":
        code = ErrorCode.OKTA_FORBIDDEN
        scope = _challenge_param(challenge, "scope")
        description = description + (f" (needs {scope})" if scope else "")
    elif error is not None:
        code = _OAUTH_CODES.get(error, ErrorCode.OKTA_BAD_RESPONSE)
    elif okta_code is not None:
        code = _MANAGEMENT_CODES.get(okta_code, ErrorCode.OKTA_BAD_RESPONSE)
    elif status == 429:
        code = ErrorCode.OKTA_RATE_LIMITED
    elif status >= 500:
        code = ErrorCode.OKTA_UNAVAILABLE
    elif status == 404:
        code = ErrorCode.OKTA_NOT_FOUND
    elif status == 403:
        code = ErrorCode.OKTA_FORBIDDEN
    elif status == 401:
        code = ErrorCode.OKTA_INVALID_CLIENT
    else:
        code = ErrorCode.OKTA_BAD_RESPONSE
    if status >= 500 and code is not ErrorCode.OKTA_UNAVAILABLE:
        code = ErrorCode.OKTA_UNAVAILABLE
    said = error or okta_code or f"HTTP {status}"
    detail = f"Okta answered {status} {said}" + (f": {description}" if description else "")
    mapped_status = status if code not in (ErrorCode.OKTA_UNAVAILABLE,) else 503
    return OktaError(
        code,
        detail,
        status=mapped_status,
        error=error or okta_code,
        description=description or None,
        request_id=request_id,
        hint=_hint(code, error or okta_code or "", description, ctx),
        retry_after=retry_after,
    )
