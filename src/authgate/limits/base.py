"""Failure rate limiting: the ``FailureLimiter`` protocol and the guard that applies it.

Why count failures only: legitimate callers almost never fail, so limiting failures slows
brute force and credential stuffing without throttling real traffic. Limits are a sliding
window of ``interval`` seconds per client IP and per identity (token id, subject or username);
a limit or interval of 0 disables that dimension. A blocked caller gets 429 with
``Retry-After`` set to the exact time until the oldest counted failure leaves the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from authgate.authn.base import Authenticator, Credential
from authgate.errors import AuthError, ErrorCode
from authgate.principal import Principal
from authgate.service_tokens.format import identity_hint

__all__ = ["FailureLimiter", "GuardedAuthenticator", "LimitConfig", "rate_limited"]


@dataclass(frozen=True, slots=True)
class LimitConfig:
    """Failures allowed per window; 0 for a limit or for the interval turns it off."""

    ip_limit: int = 30
    identity_limit: int = 10
    interval: float = 60.0

    def ip_enabled(self, ip: str | None) -> bool:
        return bool(ip) and self.ip_limit > 0 and self.interval > 0

    def identity_enabled(self, identity: str | None) -> bool:
        return bool(identity) and self.identity_limit > 0 and self.interval > 0


def rate_limited(kind: str, retry_after: float) -> AuthError:
    """The 429 for ``kind`` ``"ip"`` or ``"identity"``; ``retry_after`` is exact seconds left."""
    code = ErrorCode.RATE_LIMITED_IP if kind == "ip" else ErrorCode.RATE_LIMITED_IDENTITY
    what = "this client address" if kind == "ip" else "this identity"
    return AuthError(
        code,
        f"too many failed authentications from {what}; retry in {math.ceil(retry_after)} s",
        retry_after=retry_after,
    )


class FailureLimiter(Protocol):
    """Counts authentication failures per IP and per identity within a sliding window."""

    config: LimitConfig

    async def check(self, *, ip: str | None, identity: str | None) -> None:
        """Raise the 429 :class:`AuthError` when either key is over its limit."""
        ...

    async def record_failure(self, *, ip: str | None, identity: str | None) -> None:
        """Count one failure against both keys."""
        ...

    async def aclose(self) -> None: ...


class GuardedAuthenticator:
    """Wrap an authenticator (or chain): refuse blocked callers, count refused credentials.

    The identity is the token id a service token claims (``identity_hint``), or the
    ``subject`` an ``AuthError`` names; 5xx errors (our fault, not the caller's) are not counted.
    """

    def __init__(self, inner: Authenticator, limiter: FailureLimiter) -> None:
        self.inner = inner
        self.limiter = limiter

    async def authenticate(self, credential: Credential) -> Principal | None:
        identity = identity_hint(credential.token)
        await self.limiter.check(ip=credential.client_ip, identity=identity)
        try:
            return await self.inner.authenticate(credential)
        except AuthError as error:
            if error.status < 500:
                subject = error.extra.get("subject")
                await self.limiter.record_failure(
                    ip=credential.client_ip,
                    identity=identity or (subject if isinstance(subject, str) else None),
                )
            raise
