"""Secret rotation with an overlap window: the old secret keeps working until the overlap ends.

Why an overlap: a CI pipeline or a fleet cannot swap a credential atomically; for
``overlap`` seconds (default 300) both the old and the new secret authenticate, then only the
new one does. The token id, scopes and history stay; only the secret changes. ``overlap=0``
cuts the old secret off at once (use after a leak, together with a review of the audit trail).
"""

from __future__ import annotations

from authgate.service_tokens.format import generate_token, parse_token
from authgate.service_tokens.store import TokenRecord, TokenStore, hash_secret

__all__ = ["DEFAULT_OVERLAP", "TokenStateError", "rotate_secret"]

DEFAULT_OVERLAP = 300.0


class TokenStateError(ValueError):
    """The operation is not allowed in the token's current state (e.g. rotating a revoked one)."""


async def rotate_secret(
    store: TokenStore,
    token_id: str,
    *,
    now: float,
    overlap: float = DEFAULT_OVERLAP,
    expires_in: float | None = None,
) -> tuple[str, TokenRecord]:
    """Issue a new secret for ``token_id``; return the new token (shown once) and the record."""
    if overlap < 0:
        raise ValueError(f"overlap must be 0 or more seconds, got {overlap}")
    if expires_in is not None and expires_in <= 0:
        raise ValueError(f"expires-in must be positive, got {expires_in}")
    record = await store.require(token_id)
    if record.stored_status == "revoked":
        raise TokenStateError(f"token {token_id!r} is revoked; create a new token instead")
    if expires_in is None and record.expires_at is not None and record.expires_at <= now:
        raise TokenStateError(f"token {token_id!r} has expired; pass --expires-in to renew it")
    token = generate_token(token_id)
    parsed = parse_token(token)
    updated = await store.replace_secret(
        token_id,
        hash_secret(token_id, parsed.secret),
        now=now,
        old_valid_until=now + overlap,
        expires_at=None if expires_in is None else now + expires_in,
        set_expiry=expires_in is not None,
    )
    return token, updated
