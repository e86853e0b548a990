"""One error type with stable dotted codes, and RFC 6750 §3 ``WWW-Authenticate`` values.

Every failure a user can see — in an HTTP answer, a log line, an audit event, a metric label,
the CLI or ``docs/troubleshooting.md`` — carries the same :class:`ErrorCode`. Messages say what
to fix using the values involved, but never echo a token, secret or password.

Hierarchy::

    Exception
     └── AuthgateError            base of everything we raise on purpose
          ├── AuthError           a credential was refused (401/403/429/503 + WWW-Authenticate)
          └── ConfigError         a setting is wrong; names the setting (raised at start)
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

__all__ = ["AuthError", "AuthgateError", "ConfigError", "ErrorCode", "status_for"]


class ErrorCode(StrEnum):
    """Stable codes. Never rename one: dashboards, alerts and user code match on them."""

    # credential presentation
    MISSING_TOKEN = "auth.missing_token"
    INVALID_REQUEST = "auth.invalid_request"
    MALFORMED_TOKEN = "auth.malformed_token"
    TOKEN_TOO_LARGE = "auth.token_too_large"
    UNSUPPORTED_TOKEN_TYPE = "auth.unsupported_token_type"
    # signature and keys
    UNSUPPORTED_ALGORITHM = "auth.unsupported_algorithm"
    UNSUPPORTED_HEADER = "auth.unsupported_header"
    UNKNOWN_KEY = "auth.unknown_key"
    INVALID_SIGNATURE = "auth.invalid_signature"
    JWKS_UNAVAILABLE = "auth.jwks_unavailable"
    # claims
    TOKEN_EXPIRED = "auth.token_expired"
    TOKEN_NOT_YET_VALID = "auth.token_not_yet_valid"
    TOKEN_TOO_OLD = "auth.token_too_old"
    INVALID_CLAIM = "auth.invalid_claim"
    MISSING_CLAIM = "auth.missing_claim"
    INVALID_ISSUER = "auth.invalid_issuer"
    INVALID_AUDIENCE = "auth.invalid_audience"
    ID_TOKEN_REJECTED = "auth.id_token_rejected"
    TOKEN_REVOKED = "auth.token_revoked"
    # DPoP (RFC 9449)
    INVALID_DPOP_PROOF = "auth.invalid_dpop_proof"
    DPOP_REQUIRED = "auth.dpop_required"
    DPOP_BINDING_MISMATCH = "auth.dpop_binding_mismatch"
    USE_DPOP_NONCE = "auth.use_dpop_nonce"
    # authorization
    INSUFFICIENT_SCOPE = "auth.insufficient_scope"
    ROLE_MISSING = "auth.role_missing"
    WORKSPACE_DENIED = "auth.workspace_denied"
    PRIVILEGE_TOO_LOW = "auth.privilege_too_low"
    CREDENTIAL_KIND_DENIED = "auth.credential_kind_denied"
    ISSUER_DENIED = "auth.issuer_denied"
    ACCESS_DENIED = "auth.access_denied"
    SOURCE_IP_DENIED = "auth.source_ip_denied"
    # rate limiting
    RATE_LIMITED_IP = "auth.rate_limited.ip"
    RATE_LIMITED_IDENTITY = "auth.rate_limited.identity"
    # service tokens
    INVALID_SERVICE_TOKEN = "auth.invalid_service_token"
    # outbound (Okta client): what Okta answered, mapped to what to change
    OKTA_CIRCUIT_OPEN = "okta.circuit_open"
    OKTA_INVALID_CLIENT = "okta.invalid_client"
    OKTA_INVALID_SCOPE = "okta.invalid_scope"
    OKTA_INVALID_GRANT = "okta.invalid_grant"
    OKTA_UNAUTHORIZED_CLIENT = "okta.unauthorized_client"
    OKTA_ACCESS_DENIED = "okta.access_denied"
    OKTA_DPOP_REQUIRED = "okta.dpop_required"
    OKTA_INVALID_REQUEST = "okta.invalid_request"
    OKTA_FORBIDDEN = "okta.forbidden"
    OKTA_NOT_FOUND = "okta.not_found"
    OKTA_RATE_LIMITED = "okta.rate_limited"
    OKTA_UNAVAILABLE = "okta.unavailable"
    OKTA_BAD_RESPONSE = "okta.bad_response"
    # gateway data path: the upstream behind the reverse proxy
    GATEWAY_UPSTREAM_TIMEOUT = "gateway.upstream_timeout"
    GATEWAY_UPSTREAM_UNAVAILABLE = "gateway.upstream_unavailable"
    # configuration
    CONFIG_INVALID = "config.invalid"


# 401 = "bring a (better) credential"; 403 = "this credential may not do this" (RFC 6750 §3.1);
# 429 = slow down; 503 = we cannot decide right now (the key source is down) — fail closed.
_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.INSUFFICIENT_SCOPE: 403,
    ErrorCode.ROLE_MISSING: 403,
    ErrorCode.WORKSPACE_DENIED: 403,
    ErrorCode.PRIVILEGE_TOO_LOW: 403,
    ErrorCode.CREDENTIAL_KIND_DENIED: 403,
    ErrorCode.ISSUER_DENIED: 403,
    ErrorCode.ACCESS_DENIED: 403,
    ErrorCode.SOURCE_IP_DENIED: 403,
    ErrorCode.RATE_LIMITED_IP: 429,
    ErrorCode.RATE_LIMITED_IDENTITY: 429,
    ErrorCode.JWKS_UNAVAILABLE: 503,
    ErrorCode.OKTA_CIRCUIT_OPEN: 503,
    ErrorCode.OKTA_RATE_LIMITED: 429,
    ErrorCode.OKTA_UNAVAILABLE: 503,
    ErrorCode.OKTA_BAD_RESPONSE: 502,
    ErrorCode.OKTA_FORBIDDEN: 403,
    ErrorCode.OKTA_NOT_FOUND: 404,
    ErrorCode.GATEWAY_UPSTREAM_TIMEOUT: 504,
    ErrorCode.GATEWAY_UPSTREAM_UNAVAILABLE: 502,
    ErrorCode.CONFIG_INVALID: 500,
}

# RFC 6750 §3.1 error values; RFC 9449 §7.1 adds invalid_dpop_proof / use_dpop_nonce.
_OAUTH_ERROR: dict[ErrorCode, str] = {
    ErrorCode.INVALID_REQUEST: "invalid_request",
    ErrorCode.INSUFFICIENT_SCOPE: "insufficient_scope",
    ErrorCode.INVALID_DPOP_PROOF: "invalid_dpop_proof",
    ErrorCode.USE_DPOP_NONCE: "use_dpop_nonce",
    ErrorCode.DPOP_REQUIRED: "invalid_request",
}
_NO_ERROR_PARAM = {ErrorCode.MISSING_TOKEN}  # RFC 6750 §3.1: no error code when no credential sent


def status_for(code: ErrorCode) -> int:
    """HTTP status for a code: 401 unless the table above says otherwise."""
    return _STATUS.get(code, 401)


def _quote(value: str) -> str:
    # RFC 7235 quoted-string; error_description must be %x20-21 / %x23-5B / %x5D-7E (RFC 6750 §3).
    cleaned = "".join(ch if 0x20 <= ord(ch) <= 0x7E and ch not in '"\\' else "'" for ch in value)
    return f'"{cleaned}"'


class AuthgateError(Exception):
    """Base class of every error authgate raises deliberately."""

    code: ErrorCode

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class AuthError(AuthgateError):
    """A credential was refused; carries the HTTP status and the RFC 6750 challenge.

    ``scope`` names the scopes that would have been enough (RFC 6750 §3 ``scope`` attribute);
    ``claim`` names the JWT claim at fault, when there is one; ``retry_after`` (seconds) is set
    on rate-limit errors; ``extra`` holds safe, structured context for logs and audit.
    """

    def __init__(
        self,
        code: ErrorCode,
        detail: str,
        *,
        status: int | None = None,
        scope: Iterable[str] | None = None,
        claim: str | None = None,
        retry_after: float | None = None,
        scheme: str = "Bearer",
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code, detail)
        self.status = status if status is not None else status_for(code)
        self.scope = tuple(scope) if scope is not None else None
        self.claim = claim
        self.retry_after = retry_after
        self.scheme = scheme
        self.extra = dict(extra or {})

    @property
    def oauth_error(self) -> str | None:
        """The RFC 6750 ``error`` value, or None when the request carried no credential."""
        if self.code in _NO_ERROR_PARAM:
            return None
        return _OAUTH_ERROR.get(self.code, "invalid_token" if self.status == 401 else None)

    def www_authenticate(self, realm: str | None = None) -> str:
        """The ``WWW-Authenticate`` header value (RFC 6750 §3, RFC 9449 §7.1 for DPoP)."""
        params: list[str] = []
        if realm:
            params.append(f"realm={_quote(realm)}")
        error = self.oauth_error
        if error:
            params.append(f"error={_quote(error)}")
            params.append(f"error_description={_quote(self.detail)}")
        if self.scope:
            params.append(f"scope={_quote(' '.join(self.scope))}")
        if self.scheme == "DPoP":
            params.append('algs="ES256 RS256 EdDSA PS256"')
        return self.scheme + (" " + ", ".join(params) if params else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON body for HTTP answers and ``--json`` CLI output."""
        body: dict[str, Any] = {"code": str(self.code), "message": self.detail}
        if self.oauth_error:
            body["error"] = self.oauth_error
            body["error_description"] = self.detail
        if self.scope:
            body["scope"] = " ".join(self.scope)
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


class ConfigError(AuthgateError):
    """A setting is invalid; ``setting`` names it so the message says what to change."""

    def __init__(self, setting: str, detail: str) -> None:
        super().__init__(ErrorCode.CONFIG_INVALID, f"{setting}: {detail}")
        self.setting = setting
