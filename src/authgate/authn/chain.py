"""The authenticator chain: the first authenticator that claims a credential decides.

Order matters and is configuration: service token (``ag_`` prefix) → bootstrap token → JWT →
introspection. An authenticator that returns None passes; one that raises ends the chain.
"""

from __future__ import annotations

from collections.abc import Sequence

from authgate.authn.base import Authenticator, Credential
from authgate.errors import AuthError, ErrorCode
from authgate.principal import Principal

__all__ = ["AuthenticatorChain"]


class AuthenticatorChain:
    """Try each authenticator in order; deny when none claims the credential."""

    def __init__(self, authenticators: Sequence[Authenticator]) -> None:
        self.authenticators = tuple(authenticators)

    async def authenticate(self, credential: Credential | None) -> Principal:
        if credential is None:
            raise AuthError(ErrorCode.MISSING_TOKEN, "no bearer token was presented")
        for authenticator in self.authenticators:
            principal = await authenticator.authenticate(credential)
            if principal is not None:
                return principal
        raise AuthError(
            ErrorCode.MALFORMED_TOKEN,
            "the credential is neither a JWT nor a service token this server accepts",
        )
