"""JWT bearer authenticator (RFC 6750 + RFC 9068), with DPoP binding (RFC 9449 §7).

Claims any credential shaped like a compact JWS (two dots); everything else passes to the next
authenticator. A token bound to a DPoP key (``cnf.jkt``) must come with the DPoP scheme and a
valid proof whose key thumbprint matches; sending it as ``Bearer`` is refused, as Okta does. A
DPoP-scheme request is refused outright when no proof checker is configured: accepting the
scheme without checking the proof would silently downgrade the binding.
"""

from __future__ import annotations

from typing import Protocol

from authgate.authn.base import Credential
from authgate.errors import AuthError, ErrorCode
from authgate.principal import Principal
from authgate.verifier import TokenVerifier

__all__ = ["DPoPChecker", "JWTAuthenticator"]


class DPoPChecker(Protocol):
    """Checks a DPoP proof for a request and returns the proof key's JWK thumbprint."""

    async def check(self, credential: Credential, principal: Principal) -> str: ...


class JWTAuthenticator:
    """Authenticator for JWT access tokens."""

    def __init__(self, verifier: TokenVerifier, *, dpop: DPoPChecker | None = None) -> None:
        self.verifier = verifier
        self.dpop = dpop

    async def authenticate(self, credential: Credential) -> Principal | None:
        if credential.token.count(".") != 2:
            return None
        principal = await self.verifier.averify(credential.token)
        jkt = principal.cnf.get("jkt") if principal.cnf is not None else None
        if credential.scheme != "dpop":
            if jkt is not None:
                raise AuthError(
                    ErrorCode.DPOP_REQUIRED,
                    "this token is DPoP-bound: send it with 'Authorization: DPoP' and a DPoP proof",
                    scheme="DPoP",
                )
            return principal
        if self.dpop is None:
            raise AuthError(
                ErrorCode.INVALID_REQUEST,
                "DPoP is not enabled on this server: enable it or send a Bearer token",
            )
        if jkt is None:
            raise AuthError(
                ErrorCode.DPOP_BINDING_MISMATCH,
                "The presented access_token is not DPoP bound.",
                scheme="DPoP",
            )
        # The checker compares the proof key's thumbprint with cnf.jkt (constant time).
        await self.dpop.check(credential, principal)
        return principal
