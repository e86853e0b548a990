"""Token exchange, Okta's classic on-behalf-of flow (RFC 8693 §2.1, okta-wire §2.5).

A service app trades a user's access token — minted by this custom server or by one it trusts —
for a token of this server: ``sub``/``uid``/``auth_time`` stay the user's, ``cid`` becomes the
calling app, ``aud`` the requested audience. No ``act`` claim, no ID or refresh token.
"""

from __future__ import annotations

from starlette.responses import Response

from authgate.idp.config import EXCHANGE_GRANT, OIDC_SCOPES
from authgate.idp.errors import OAuthProblem
from authgate.idp.grants.base import GrantContext
from authgate.idp.jwt_util import parse_compact
from authgate.idp.policy import evaluate, requested_scopes
from authgate.idp.state import ServerState
from authgate.idp.tokens import mint_access_token, token_response

__all__ = ["ACCESS_TOKEN_TYPE", "token_exchange"]

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


def _bad(description: str) -> OAuthProblem:
    return OAuthProblem(400, "invalid_request", description)


def _subject_server(ctx: GrantContext, token: str) -> ServerState:
    try:
        _, claims = parse_compact(token)
    except ValueError as exc:
        raise _bad("'subject_token' is invalid.") from exc
    issuer = claims.get("iss")
    source = next((s for s in ctx.idp.servers() if s.issuer == issuer), None)
    if source is None:
        raise _bad("'subject_token' is invalid.")
    trusted = source.id == ctx.server.id or source.id in ctx.server.config.trusted_servers
    if source.is_org or not trusted:
        raise OAuthProblem(
            403, "access_denied", "The 'subject_token' issuer isn't a trusted authorization server."
        )
    return source


def token_exchange(ctx: GrantContext) -> Response:
    subject_token = ctx.param("subject_token")
    if ctx.param("subject_token_type") != ACCESS_TOKEN_TYPE:
        raise _bad("'subject_token_type' is invalid or not supported.")
    requested = ctx.form.get("requested_token_type")
    if requested is not None and requested != ACCESS_TOKEN_TYPE:
        raise _bad("'requested_token_type' is invalid or not supported.")
    if "actor_token" in ctx.form:
        raise _bad("'actor_token' is invalid.")
    audience = ctx.form.get("audience")
    if not audience or audience not in ctx.server.config.audiences:
        raise OAuthProblem(
            400,
            "invalid_target",
            "Token Exchange requests must include a valid audience of the authorization server.",
        )
    scopes = requested_scopes(ctx.server, ctx.form.get("scope"))
    if any(s in OIDC_SCOPES for s in scopes):
        raise OAuthProblem(
            400,
            "invalid_scope",
            "Can't request 'openid' scopes using the Token Exchange flow for a service app.",
        )
    source = _subject_server(ctx, subject_token)
    claims = ctx.idp.validate_access_token(subject_token, source.id)
    if claims is None:
        if ctx.idp.signed_claims(subject_token, source.id) is None:
            raise _bad("'subject_token' is invalid.")
        raise OAuthProblem(
            400,
            "invalid_grant",
            "The 'subject_token' either expired or the session associated with it was terminated.",
        )
    user = ctx.idp.config.user(str(claims.get("uid", "")))
    if user is None or user.status != "ACTIVE":
        raise _bad("'subject_token' is invalid.")
    rule = evaluate(ctx.server, ctx.app, EXCHANGE_GRANT, user, scopes)
    auth_time = claims.get("auth_time")
    access = mint_access_token(
        ctx.server,
        app=ctx.app,
        user=user,
        scopes=scopes,
        lifetime=rule.access_token_lifetime,
        audience=audience,
        auth_time=auth_time if isinstance(auth_time, int) else None,
        jkt=ctx.jkt,
    )
    return token_response(
        access=access,
        scopes=scopes,
        token_type=ctx.token_type,
        issued_token_type=ACCESS_TOKEN_TYPE,
    )
