"""``{base}/v1/userinfo`` (OIDC Core §5.3, okta-wire §4.3) and a minimal ``/v1/logout``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authgate.idp.endpoints import idp_of, server_of
from authgate.idp.endpoints.authorize import redirect_ok
from authgate.idp.errors import OktaJSONResponse

__all__ = ["logout", "userinfo"]

_INVALID = 'Bearer error="invalid_token", error_description="The access token is invalid"'


async def userinfo(request: Request) -> Response:
    idp = idp_of(request)
    server = server_of(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    claims = idp.validate_access_token(token.strip(), server.id) if scheme == "Bearer" else None
    user = idp.config.user(str(claims.get("uid", ""))) if claims else None
    if claims is None or user is None:
        return Response(status_code=401, headers={"WWW-Authenticate": _INVALID})
    scopes = claims.get("scp", [])
    if "openid" not in scopes:
        return Response(
            status_code=403,
            headers={
                "WWW-Authenticate": 'Bearer error="insufficient_scope", '
                'error_description="The access token must provide access to at least one of '
                'these scopes - profile, email, address or phone"'
            },
        )
    body: dict[str, Any] = {"sub": user.id}
    profile = user.profile
    if "profile" in scopes:
        name = f"{profile.get('firstName', '')} {profile.get('lastName', '')}".strip()
        body.update(
            name=name or user.login,
            locale=profile.get("locale", "en_US"),
            preferred_username=user.login,
            given_name=profile.get("firstName"),
            family_name=profile.get("lastName"),
            zoneinfo=profile.get("timezone", "America/Los_Angeles"),
        )
    if "email" in scopes:
        body.update(email=profile.get("email", user.login), email_verified=True)
    return OktaJSONResponse(body)


async def logout(request: Request) -> Response:
    target = request.query_params.get("post_logout_redirect_uri", "")
    # Redirect only to a registered URI: anything else would be an open redirect.
    if target and any(redirect_ok(app, target) for app in idp_of(request).config.apps):
        return RedirectResponse(target, 302)
    return Response("Signed out.", media_type="text/plain")
