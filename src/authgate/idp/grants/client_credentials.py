"""``grant_type=client_credentials`` on custom servers and on the org AS (okta-wire §2.2, §8.5).

Custom servers: custom scopes only (OIDC scopes refused), defaults when none asked, policy
decides. Org AS ("OAuth for Okta"): service apps with ``private_key_jwt`` only, ``okta.*`` scopes
granted to the app only, 1 h tokens with ``aud`` = the org URL.
"""

from __future__ import annotations

from starlette.responses import Response

from authgate.idp.config import CC_GRANT, OIDC_SCOPES
from authgate.idp.errors import OAuthProblem
from authgate.idp.grants.base import ORG_ACCESS_LIFETIME, GrantContext
from authgate.idp.policy import evaluate, requested_scopes, split_scopes
from authgate.idp.tokens import mint_access_token, token_response

__all__ = ["client_credentials"]


def client_credentials(ctx: GrantContext) -> Response:
    if ctx.server.is_org:
        return _org(ctx)
    scopes = requested_scopes(ctx.server, ctx.form.get("scope"))
    if any(s in OIDC_SCOPES for s in scopes):
        raise OAuthProblem(
            400, "invalid_scope", "Cannot request 'openid' scopes using client credentials."
        )
    consent = [
        s.name for s in ctx.server.config.scopes if s.name in scopes and s.consent == "REQUIRED"
    ]
    if consent:
        raise OAuthProblem(
            400,
            "consent_required",
            "The following scopes require user consent and cannot be granted for the client "
            f"credentials grant type: [{', '.join(consent)}].",
        )
    rule = evaluate(ctx.server, ctx.app, CC_GRANT, None, scopes)
    access = mint_access_token(
        ctx.server,
        app=ctx.app,
        user=None,
        scopes=scopes,
        lifetime=rule.access_token_lifetime,
        jkt=ctx.jkt,
    )
    return token_response(access=access, scopes=scopes, token_type=ctx.token_type)


def _org(ctx: GrantContext) -> Response:
    if ctx.app.type != "service":
        raise OAuthProblem(
            401,
            "invalid_client",
            "Only clients with 'application_type' of 'service' may use the client_credentials "
            "'grant_type' with the Org Authorization Server.",
        )
    if ctx.auth_method != "private_key_jwt":
        raise OAuthProblem(
            401,
            "invalid_client",
            "Client Credentials requests to the Org Authorization Server must use the "
            "private_key_jwt token_endpoint_auth_method.",
        )
    scopes = split_scopes(ctx.form.get("scope"))
    if not scopes:
        raise OAuthProblem(400, "invalid_scope", "No scopes were requested.")
    if any(s in OIDC_SCOPES for s in scopes):
        raise OAuthProblem(
            400, "invalid_scope", "Cannot request 'openid' scopes using client credentials."
        )
    if any(not s.startswith("okta.") for s in scopes):
        raise OAuthProblem(400, "invalid_scope", "Custom scopes are not allowed for this request.")
    if any(s.endswith(".self") for s in scopes):
        raise OAuthProblem(
            400,
            "client_credentials_self_scope_requested",
            "The '.self' scopes cannot be requested with the client_credentials grant type.",
        )
    granted = [s for s in scopes if s in ctx.app.okta_scopes]
    if not granted:
        raise OAuthProblem(
            400, "consent_required", "You are not allowed any of the requested scopes."
        )
    access = mint_access_token(
        ctx.server,
        app=ctx.app,
        user=None,
        scopes=granted,
        lifetime=ORG_ACCESS_LIFETIME,
        jkt=ctx.jkt,
    )
    return token_response(access=access, scopes=granted, token_type=ctx.token_type)
