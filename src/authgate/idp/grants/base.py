"""What every grant handler gets, and the user-token issuance shared by user grants (okta-wire §2).

Password, authorization code and refresh all end the same way: an access token, an ID token when
``openid`` was granted, and a refresh token when ``offline_access`` was granted to an app allowed
the refresh grant. Keeping it in one place keeps the three responses identical in shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from authgate.idp.config import AppConfig, PolicyRule, UserConfig
from authgate.idp.errors import OAuthProblem
from authgate.idp.state import IdP, ServerState
from authgate.idp.tokens import mint_access_token, mint_id_token, mint_refresh_token, token_response

__all__ = ["GrantContext", "issue_user_tokens", "missing"]

ORG_ACCESS_LIFETIME = 3600


@dataclass(frozen=True)
class GrantContext:
    """An authenticated token request: server, client, form and the DPoP key thumbprint."""

    idp: IdP
    server: ServerState
    app: AppConfig
    auth_method: str
    form: dict[str, str]
    jkt: str | None

    @property
    def token_type(self) -> str:
        return "DPoP" if self.jkt else "Bearer"

    def param(self, name: str) -> str:
        """A required form parameter; Okta's text when it is absent or empty."""
        value = self.form.get(name)
        if not value:
            raise missing(name)
        return value


def missing(name: str) -> OAuthProblem:
    return OAuthProblem(400, "invalid_request", f"The required parameter '{name}' is missing.")


def issue_user_tokens(
    ctx: GrantContext,
    *,
    user: UserConfig,
    scopes: list[str],
    rule: PolicyRule,
    auth_time: int,
    nonce: str | None = None,
    amr: list[str] | None = None,
    refresh_token: str | None = None,
) -> Response:
    """Access (+ ID, + refresh) tokens for a user; ``refresh_token`` is reused when given."""
    server = ctx.server
    lifetime = ORG_ACCESS_LIFETIME if server.is_org else rule.access_token_lifetime
    new_refresh: str | None = refresh_token
    refresh_id: str | None = None
    if refresh_token is None and "offline_access" in scopes and "refresh_token" in ctx.app.grants:
        new_refresh, record = mint_refresh_token(
            server,
            app=ctx.app,
            user=user,
            scopes=scopes,
            auth_time=auth_time,
            lifetime=rule.refresh_token_lifetime,
            idle=rule.refresh_idle,
            jkt=ctx.jkt,
        )
        refresh_id = record.id
    elif refresh_token is not None:
        with ctx.idp.lock:
            refresh_id = ctx.idp.refresh_tokens[refresh_token].id
    access = mint_access_token(
        server,
        app=ctx.app,
        user=user,
        scopes=scopes,
        lifetime=lifetime,
        auth_time=auth_time,
        jkt=ctx.jkt,
        refresh_id=refresh_id,
    )
    id_token = None
    if "openid" in scopes:
        id_token = mint_id_token(
            server,
            app=ctx.app,
            user=user,
            scopes=scopes,
            auth_time=auth_time,
            nonce=nonce,
            access_token=access.token,
            amr=amr,
        ).token
    return token_response(
        access=access,
        scopes=scopes,
        token_type=ctx.token_type,
        refresh_token=new_refresh,
        id_token=id_token,
    )
