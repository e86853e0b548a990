"""``grant_type=password`` (ROPC, okta-wire §2.3): per-app flag, Okta's invalid_grant texts.

Locked, suspended and unknown accounts get the same "credentials invalid" text as a wrong
password so the grant does not reveal which accounts exist; expired passwords and MFA-enrolled
users get their own texts, as on Okta.
"""

from __future__ import annotations

import hmac

from starlette.responses import Response

from authgate.idp.config import UserConfig
from authgate.idp.errors import OAuthProblem
from authgate.idp.grants.base import GrantContext, issue_user_tokens
from authgate.idp.policy import evaluate, requested_scopes
from authgate.idp.state import IdP

__all__ = ["check_password", "password"]

INVALID = "The credentials provided were invalid."


def check_password(idp: IdP, username: str, secret: str) -> UserConfig:
    """The user with this login and password, or ``400 invalid_grant`` with Okta's text."""
    user = idp.config.user(username)
    good = user is not None and hmac.compare_digest(user.password.encode(), secret.encode())
    if user is None or not good or user.status in ("LOCKED_OUT", "SUSPENDED", "DEPROVISIONED"):
        raise OAuthProblem(400, "invalid_grant", INVALID)
    if user.status == "PASSWORD_EXPIRED":
        raise OAuthProblem(400, "invalid_grant", "Password has expired.")
    if user.status != "ACTIVE":
        raise OAuthProblem(400, "invalid_grant", INVALID)
    return user


def password(ctx: GrantContext) -> Response:
    username = ctx.param("username")
    secret = ctx.param("password")
    user = check_password(ctx.idp, username, secret)
    if user.mfa:
        raise OAuthProblem(
            400,
            "invalid_grant",
            "Resource owner password credentials cannot be used with MFA enabled.",
        )
    scopes = requested_scopes(ctx.server, ctx.form.get("scope"))
    rule = evaluate(ctx.server, ctx.app, "password", user, scopes)
    return issue_user_tokens(
        ctx, user=user, scopes=scopes, rule=rule, auth_time=int(ctx.idp.clock.time())
    )
