"""``grant_type=refresh_token`` with STATIC and ROTATE modes (okta-wire §2.4).

ROTATE: each use returns a new token; the previous one keeps working for the app's leeway, and
reuse after that revokes the whole grant (all its refresh and access tokens), which is how Okta
answers a stolen refresh token. DPoP-bound refresh tokens need a proof made with the same key.
"""

from __future__ import annotations

from starlette.responses import Response

from authgate.idp.dpop import DPoPProofError
from authgate.idp.errors import OAuthProblem
from authgate.idp.grants.base import GrantContext, issue_user_tokens
from authgate.idp.policy import evaluate, split_scopes
from authgate.idp.state import IdP, RefreshRecord
from authgate.idp.tokens import mint_refresh_token

__all__ = ["refresh_token", "revoke_refresh_family"]

INVALID = OAuthProblem(400, "invalid_grant", "The refresh token is invalid or expired.")


def revoke_refresh_family(idp: IdP, record: RefreshRecord) -> None:
    """Revoke every refresh token of the grant and the access tokens minted from them."""
    with idp.lock:
        ids = set()
        for value in record.family:
            found = idp.refresh_tokens.get(value)
            if found is not None:
                found.revoked = True
                ids.add(found.id)
        for token in idp.tokens.values():
            if token.refresh_id in ids:
                token.revoked = True


def _usable(ctx: GrantContext, value: str) -> RefreshRecord:
    idp = ctx.idp
    now = idp.clock.time()
    with idp.lock:
        record = idp.refresh_tokens.get(value)
    if record is None or record.revoked or record.server_id != ctx.server.id:
        raise INVALID
    if record.client_id != ctx.app.client_id:
        raise INVALID
    if record.expires_at is not None and now >= record.expires_at:
        raise INVALID
    if now >= record.last_used + record.idle:
        raise INVALID
    if record.replaced_at is not None and now > record.replaced_at + ctx.app.refresh_leeway:
        revoke_refresh_family(idp, record)
        raise INVALID
    if record.jkt is not None and record.jkt != ctx.jkt:
        raise DPoPProofError("Invalid DPoP Public Key binding in refresh token")
    return record


def refresh_token(ctx: GrantContext) -> Response:
    value = ctx.param("refresh_token")
    record = _usable(ctx, value)
    user = ctx.idp.config.user(record.user_id) if record.user_id else None
    if user is None or user.status != "ACTIVE":
        raise INVALID
    scopes = split_scopes(ctx.form.get("scope")) or list(record.scopes)
    extra = [s for s in scopes if s not in record.scopes]
    if extra:
        raise OAuthProblem(
            400,
            "access_denied",
            "Some of the scopes requested for the refresh request were not granted in the "
            f"original authorize request. Denied scopes: {', '.join(extra)}.",
        )
    rule = evaluate(ctx.server, ctx.app, "refresh_token", user, scopes)
    now = ctx.idp.clock.time()
    record.last_used = now
    reuse = value
    if ctx.app.refresh_rotation == "ROTATE":
        reuse, successor = mint_refresh_token(
            ctx.server,
            app=ctx.app,
            user=user,
            scopes=record.scopes,
            auth_time=record.auth_time,
            lifetime=None,
            idle=int(record.idle),
            jkt=record.jkt,
        )
        with ctx.idp.lock:
            successor.expires_at = record.expires_at  # rotation keeps the original expiry
            successor.id = record.id
            record.family.append(reuse)
            successor.family = record.family
            if record.replaced_at is None:
                record.replaced_at = now
    return issue_user_tokens(
        ctx,
        user=user,
        scopes=scopes,
        rule=rule,
        auth_time=record.auth_time,
        refresh_token=reuse,
    )
