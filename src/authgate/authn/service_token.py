"""Service token authenticator (``ag_`` tokens, see ``service_tokens.format``) with a verdict cache.

"Not mine" (no ``ag_`` prefix) returns None; a bad checksum is refused before any lookup; an
unknown id and a wrong secret get the same answer so ids cannot be probed; revocation, expiry
and source-CIDR checks run only after the secret is proven. A cached verdict is trusted for at
most the revocation feed's ``recheck_interval`` (1 s without Redis pub/sub), never past the
token's expiry or the end of a rotated secret's overlap, and is dropped at once when a
revocation is announced.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from authgate.authn.base import Credential
from authgate.clock import Clock, system_clock
from authgate.errors import AuthError, ErrorCode
from authgate.principal import Principal, PrincipalKind
from authgate.service_tokens.format import PREFIX, parse_token
from authgate.service_tokens.models import TokenStatus
from authgate.service_tokens.revocation import RESYNC, RevocationFeed
from authgate.service_tokens.store import AuthRecord, TokenStore, hash_secret, secret_matches
from authgate.service_tokens.usage import LastUsedBatcher

__all__ = ["ServiceTokenAuthenticator"]

_INVALID = "service token is not valid (unknown token id or wrong secret)"
_DUMMY = (hashlib.sha256(b"authgate-dummy").digest(),)
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(slots=True)
class _Verdict:
    principal: Principal
    not_after: float  # wall clock: token expiry or end of the secret's overlap window
    networks: tuple[_Network, ...]
    checked_at: float  # monotonic


def _ip_allowed(client_ip: str | None, networks: tuple[_Network, ...]) -> bool:
    if not networks:
        return True
    if client_ip is None:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


class ServiceTokenAuthenticator:
    """Authenticates ``ag_`` service tokens against a :class:`TokenStore`."""

    def __init__(
        self,
        store: TokenStore,
        *,
        clock: Clock = system_clock,
        cache_size: int = 10_000,
        recheck_interval: float = 1.0,
        revocations: RevocationFeed | None = None,
        usage: LastUsedBatcher | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.cache_size = cache_size
        self._recheck = recheck_interval
        self.revocations = revocations
        self.usage = usage
        self._cache: dict[bytes, _Verdict] = {}
        self._by_token: dict[str, set[bytes]] = {}
        self._generation = 0  # bumped by forget(); see authenticate()
        if revocations is not None:
            revocations.subscribe(self.forget)

    def forget(self, token_id: str) -> None:
        """Drop cached verdicts for ``token_id`` (all of them for the resync marker ``""``)."""
        # A lookup in flight while this runs read the old record: bumping the generation stops
        # it from caching that stale verdict after the revocation (review finding).
        self._generation += 1
        if token_id == RESYNC:
            self._cache.clear()
            self._by_token.clear()
            return
        for key in self._by_token.pop(token_id, ()):
            self._cache.pop(key, None)

    def _recheck_interval(self) -> float:
        return self.revocations.recheck_interval if self.revocations else self._recheck

    async def authenticate(self, credential: Credential) -> Principal | None:
        token = credential.token
        if not token.startswith(PREFIX):
            return None
        key = hashlib.sha256(token.encode()).digest() if self.cache_size else None
        if key is not None:
            verdict = self._cache.get(key)
            if verdict is not None:
                fresh = self.clock.monotonic() - verdict.checked_at < self._recheck_interval()
                if fresh and self.clock.time() < verdict.not_after:
                    return self._accept(verdict.principal, verdict.networks, credential)
                self._evict(key, verdict.principal.subject)
        parsed = parse_token(token)  # raises before any I/O when the checksum is wrong
        generation = self._generation
        record = await self.store.auth_record(parsed.token_id)
        candidate = hash_secret(parsed.token_id, parsed.secret)
        index = secret_matches(candidate, record.hashes if record else _DUMMY)
        if record is None or index < 0:
            raise AuthError(
                ErrorCode.INVALID_SERVICE_TOKEN, _INVALID, extra={"token_id": parsed.token_id}
            )
        principal, networks, not_after = self._verify(record, record.valid_until[index])
        if key is not None and generation == self._generation:
            self._remember(key, _Verdict(principal, not_after, networks, self.clock.monotonic()))
        return self._accept(principal, networks, credential)

    def _verify(
        self, record: AuthRecord, secret_valid_until: float | None
    ) -> tuple[Principal, tuple[_Network, ...], float]:
        now = self.clock.time()
        extra = {"token_id": record.token_id, "subject": record.token_id}
        if record.status is TokenStatus.REVOKED:
            raise AuthError(
                ErrorCode.TOKEN_REVOKED,
                f"service token {record.token_id!r} is revoked",
                extra=extra,
            )
        if record.expires_at is not None and now >= record.expires_at:
            raise AuthError(
                ErrorCode.TOKEN_EXPIRED,
                f"service token {record.token_id!r} expired at {record.expires_at:.0f}",
                extra=extra,
            )
        if secret_valid_until is not None and now >= secret_valid_until:
            raise AuthError(
                ErrorCode.TOKEN_EXPIRED,
                f"this secret of service token {record.token_id!r} was rotated and stopped "
                f"working at {secret_valid_until:.0f}; use the new secret",
                extra=extra,
            )
        networks = tuple(ipaddress.ip_network(c, strict=False) for c in record.allowed_cidrs)
        principal = Principal(
            subject=record.token_id,
            kind=PrincipalKind.SERVICE,
            credential="service_token",
            scopes=record.scopes,
            workspaces=record.workspaces,
            token_id=record.token_id,
            expires_at=record.expires_at,
        )
        ends = [t for t in (record.expires_at, secret_valid_until) if t is not None]
        return principal, networks, min(ends, default=float("inf"))

    def _accept(
        self, principal: Principal, networks: tuple[_Network, ...], credential: Credential
    ) -> Principal:
        if not _ip_allowed(credential.client_ip, networks):
            raise AuthError(
                ErrorCode.SOURCE_IP_DENIED,
                f"service token {principal.subject!r} may not be used from "
                f"{credential.client_ip or 'an unknown address'}",
                extra={"token_id": principal.subject, "subject": principal.subject},
            )
        if self.usage is not None:
            self.usage.note(principal.subject, self.clock.time())
        return principal

    def _remember(self, key: bytes, verdict: _Verdict) -> None:
        while len(self._cache) >= self.cache_size:
            oldest = next(iter(self._cache))
            self._evict(oldest, self._cache[oldest].principal.subject)
        self._cache[key] = verdict
        self._by_token.setdefault(verdict.principal.subject, set()).add(key)

    def _evict(self, key: bytes, token_id: str) -> None:
        self._cache.pop(key, None)
        keys = self._by_token.get(token_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_token[token_id]
