"""Bootstrap token authenticator: the first admin credential of a fresh deployment (``agb_…``).

Why: before any service token exists someone must be able to call the admin API. The value
comes from ``AUTHGATE_BOOTSTRAP_TOKEN``, is never stored (only its SHA-256 is held in memory),
is compared in constant time, may carry an expiry (``AUTHGATE_BOOTSTRAP_TOKEN_EXPIRES_AT``)
and logs a warning at start while configured, because it should be removed once real tokens
are issued. Wrap it in ``AuditedAuthenticator`` so each use, and each expired use, is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from authgate.authn.base import Credential
from authgate.clock import Clock, system_clock
from authgate.errors import AuthError, ErrorCode
from authgate.fingerprint import fingerprint
from authgate.principal import Principal, PrincipalKind
from authgate.service_tokens.format import BOOTSTRAP_PREFIX
from authgate.service_tokens.settings import TokenSettings

__all__ = ["BootstrapAuthenticator"]

_log = logging.getLogger("authgate.authn.bootstrap")


class BootstrapAuthenticator:
    """Accepts exactly the configured bootstrap token, as a SERVICE principal ``bootstrap``."""

    def __init__(
        self,
        token: str,
        *,
        scopes: Iterable[str],
        expires_at: float | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._digest = hashlib.sha256(token.encode()).digest()
        self.expires_at = expires_at
        self.clock = clock
        self.principal = Principal(
            subject="bootstrap",
            kind=PrincipalKind.SERVICE,
            credential="bootstrap",
            scopes=frozenset(scopes),
            expires_at=expires_at,
        )
        until = datetime.fromtimestamp(expires_at, UTC).isoformat() if expires_at else "no expiry"
        _log.warning(
            "bootstrap token %s is configured (scopes: %s; %s): issue service tokens, then unset "
            "AUTHGATE_BOOTSTRAP_TOKEN",
            fingerprint(token),
            " ".join(sorted(self.principal.scopes)) or "none",
            until,
        )

    @classmethod
    def from_settings(
        cls, settings: TokenSettings, *, clock: Clock = system_clock
    ) -> BootstrapAuthenticator | None:
        if settings.bootstrap_token is None:
            return None
        return cls(
            settings.bootstrap_token.get_secret_value(),
            scopes=settings.bootstrap_token_scopes,
            expires_at=settings.bootstrap_token_expires_at,
            clock=clock,
        )

    async def authenticate(self, credential: Credential) -> Principal | None:
        if not credential.token.startswith(BOOTSTRAP_PREFIX):
            return None
        # Digests have a fixed length, so the comparison time does not depend on the input.
        presented = hashlib.sha256(credential.token.encode()).digest()
        if not hmac.compare_digest(presented, self._digest):
            raise AuthError(
                ErrorCode.INVALID_SERVICE_TOKEN,
                "bootstrap token does not match the configured one",
                extra={"subject": "bootstrap"},
            )
        if self.expires_at is not None and self.clock.time() >= self.expires_at:
            raise AuthError(
                ErrorCode.TOKEN_EXPIRED,
                "the bootstrap token expired at "
                f"{datetime.fromtimestamp(self.expires_at, UTC).isoformat()}; "
                "use a service token",
                extra={"subject": "bootstrap"},
            )
        return self.principal
