"""``grant_type=authorization_code`` with PKCE S256 (RFC 6749 §4.1.3, RFC 7636 §4.6; okta-wire §2.7).

Codes are single use and live 300 s; the verifier must hash to the challenge, the redirect URI
must match the one used at ``/authorize`` and the code must belong to the calling client.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.responses import Response

from authgate.idp.errors import OAuthProblem
from authgate.idp.grants.base import GrantContext, issue_user_tokens
from authgate.idp.keys import b64url
from authgate.idp.policy import evaluate

__all__ = ["authorization_code", "pkce_s256"]

INVALID_CODE = "The authorization code is invalid or has expired."


def pkce_s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())


def authorization_code(ctx: GrantContext) -> Response:
    value = ctx.param("code")
    redirect_uri = ctx.param("redirect_uri")
    idp = ctx.idp
    with idp.lock:
        code = idp.codes.get(value)
        if code is not None:
            already_used = code.used
            code.used = True
    if code is None or code.server_id != ctx.server.id or idp.clock.time() >= code.expires_at:
        raise OAuthProblem(400, "invalid_grant", INVALID_CODE)
    if already_used:
        raise OAuthProblem(400, "invalid_grant", INVALID_CODE)
    if code.client_id != ctx.app.client_id:
        raise OAuthProblem(400, "invalid_grant", "The grant was issued to another client.")
    if code.redirect_uri != redirect_uri:
        raise OAuthProblem(
            400,
            "invalid_grant",
            "The 'redirect_uri' does not match the redirection URI used in the authorization request.",
        )
    verifier = ctx.form.get("code_verifier")
    if code.code_challenge is not None:
        if not verifier or not hmac.compare_digest(pkce_s256(verifier), code.code_challenge):
            raise OAuthProblem(400, "invalid_grant", "PKCE verification failed.")
    elif verifier:
        raise OAuthProblem(400, "invalid_grant", "PKCE verification failed.")
    user = idp.config.user(code.user_id)
    if user is None or user.status != "ACTIVE":
        raise OAuthProblem(400, "invalid_grant", INVALID_CODE)
    rule = evaluate(ctx.server, ctx.app, "authorization_code", user, code.scopes)
    return issue_user_tokens(
        ctx,
        user=user,
        scopes=code.scopes,
        rule=rule,
        auth_time=code.auth_time,
        nonce=code.nonce,
        amr=["mfa", "pwd"] if user.mfa else ["pwd"],
    )
