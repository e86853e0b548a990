"""Token administration (create, list, show, rotate, revoke): one library used by CLI and HTTP API.

Why one layer: the CLI and the admin API must validate, audit and fan out revocations the same
way. Every operation, allowed or refused, becomes a ``token.<operation>`` audit event naming the
acting administrator; secrets are returned once to the caller and never logged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from authgate.clock import Clock, system_clock
from authgate.fingerprint import fingerprint
from authgate.observability.audit import AuditLog
from authgate.service_tokens.format import generate_id, generate_token, parse_token, validate_id
from authgate.service_tokens.revocation import RevocationFeed
from authgate.service_tokens.rotation import DEFAULT_OVERLAP, rotate_secret
from authgate.service_tokens.store import TokenRecord, TokenStore, hash_secret

__all__ = ["TokenAdmin"]

T = TypeVar("T")
MAX_REASON = 500


def _clean(values: Iterable[str], what: str) -> list[str]:
    cleaned = sorted({v.strip() for v in values if v.strip()})
    for value in cleaned:
        if any(ch.isspace() for ch in value) or len(value) > 200 or not value.isprintable():
            raise ValueError(f"{what} {value!r} must be printable, without spaces, <= 200 chars")
    return cleaned


def _cidrs(values: Iterable[str]) -> list[str]:
    try:
        return [str(ipaddress.ip_network(v.strip(), strict=False)) for v in values if v.strip()]
    except ValueError as exc:
        raise ValueError(f"allowed source CIDR: {exc}") from None


class TokenAdmin:
    """Validated, audited token operations over a :class:`TokenStore`."""

    def __init__(
        self,
        store: TokenStore,
        *,
        clock: Clock = system_clock,
        audit: AuditLog | None = None,
        revocations: RevocationFeed | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.audit = audit
        self.revocations = revocations

    async def _audited(
        self, operation: str, actor: str, token_id: str | None, run: Callable[[], Awaitable[T]]
    ) -> T:
        try:
            result = await run()
        except Exception as exc:
            self._record(operation, actor, token_id, "failure", detail={"error": str(exc)[:300]})
            raise
        # A new secret is identified in the trail by its fingerprint, never by its value.
        issued = result[0] if isinstance(result, tuple) and isinstance(result[0], str) else None
        self._record(
            operation, actor, token_id, "success", fp=fingerprint(issued) if issued else None
        )
        return result

    def _record(
        self,
        operation: str,
        actor: str,
        token_id: str | None,
        outcome: str,
        *,
        detail: dict[str, Any] | None = None,
        fp: str | None = None,
    ) -> None:
        if self.audit is not None:
            self.audit.record(
                f"token.{operation}",
                outcome,
                subject=actor,
                token_id=token_id,
                token_fingerprint=fp,
                detail=detail,
            )

    async def create(
        self,
        *,
        actor: str,
        token_id: str | None = None,
        description: str = "",
        scopes: Iterable[str] = (),
        workspaces: Iterable[str] = (),
        expires_in: float | None = None,
        allowed_cidrs: Iterable[str] = (),
    ) -> tuple[str, TokenRecord]:
        """Create a token; the returned token string is the only time the secret is visible."""
        chosen = token_id or generate_id()

        async def run() -> tuple[str, TokenRecord]:
            validate_id(chosen)
            if expires_in is not None and expires_in <= 0:
                raise ValueError(f"expires-in must be positive, got {expires_in}")
            now = self.clock.time()
            token = generate_token(chosen)
            fields = {
                "id": chosen,
                "description": description[:1000],
                "scopes": _clean(scopes, "scope"),
                "workspaces": _clean(workspaces, "workspace"),
                "allowed_cidrs": _cidrs(allowed_cidrs),
                "created_by": actor[:256],
                "expires_at": None if expires_in is None else now + expires_in,
            }
            secret_hash = hash_secret(chosen, parse_token(token).secret)
            return token, await self.store.insert(fields, secret_hash, now=now)

        return await self._audited("create", actor, chosen, run)

    async def list(self, *, actor: str) -> list[TokenRecord]:
        return await self._audited("list", actor, None, self.store.list)

    async def show(self, token_id: str, *, actor: str) -> TokenRecord:
        return await self._audited("show", actor, token_id, lambda: self.store.require(token_id))

    async def rotate(
        self,
        token_id: str,
        *,
        actor: str,
        overlap: float = DEFAULT_OVERLAP,
        expires_in: float | None = None,
    ) -> tuple[str, TokenRecord]:
        """New secret now; the old one stays valid for ``overlap`` seconds."""
        return await self._audited(
            "rotate",
            actor,
            token_id,
            lambda: rotate_secret(
                self.store,
                token_id,
                now=self.clock.time(),
                overlap=overlap,
                expires_in=expires_in,
            ),
        )

    async def revoke(self, token_id: str, *, actor: str, reason: str) -> TokenRecord:
        """Revoke for good and announce it to every instance (pub/sub + short recheck)."""

        async def run() -> TokenRecord:
            if not reason.strip():
                raise ValueError("a revoke reason is required")
            record = await self.store.revoke(
                token_id, reason=reason.strip()[:MAX_REASON], now=self.clock.time()
            )
            if self.revocations is not None:
                await self.revocations.publish(token_id)
            return record

        return await self._audited("revoke", actor, token_id, run)
