"""Discovery documents: OpenID (OIDC Discovery §4) and OAuth AS metadata (RFC 8414 §3), okta-wire §1.2.

Each custom server has both, with Okta's per-document differences: the OpenID one omits
``client_credentials``/token exchange and lists ID-token claims; the OAuth one adds them and
lists access-token claims. ``registration_endpoint`` is always the org-level one.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authgate.idp.config import CC_GRANT, EXCHANGE_GRANT, OIDC_SCOPES
from authgate.idp.endpoints import server_of
from authgate.idp.errors import OktaJSONResponse
from authgate.idp.state import ServerState

__all__ = ["metadata", "oauth_metadata", "openid_configuration"]

METHODS = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
]
SIGNING = [f"{f}{b}" for f in ("HS", "RS", "ES") for b in (256, 384, 512)]
OIDC_CLAIMS = [
    "iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "idp", "nonce", "name",
    "nickname", "preferred_username", "given_name", "middle_name", "family_name", "email",
    "email_verified", "profile", "zoneinfo", "locale", "address", "phone_number", "picture",
    "website", "gender", "birthdate", "updated_at", "at_hash", "c_hash",
]  # fmt: skip
ACCESS_CLAIMS = ["ver", "jti", "iss", "aud", "iat", "exp", "cid", "uid", "scp", "sub"]
RESPONSE_TYPES = [
    "code", "id_token", "code id_token", "code token", "id_token token", "code id_token token",
]  # fmt: skip
USER_GRANTS = ["authorization_code", "implicit", "refresh_token", "password"]


def metadata(server: ServerState, *, openid: bool) -> dict[str, Any]:
    """The document of ``server``; ``openid`` picks the OpenID variant over the RFC 8414 one."""
    org = server.idp.base_url
    grants = list(USER_GRANTS)
    if not openid:
        grants.append(CC_GRANT)
        if not server.is_org:
            grants.append(EXCHANGE_GRANT)
    scopes = list(OIDC_SCOPES)
    if server.is_org:
        scopes.insert(scopes.index("offline_access"), "groups")
    else:
        scopes += [s.name for s in server.config.scopes if s.metadata_publish == "ALL_CLIENTS"]
    doc: dict[str, Any] = {
        "issuer": server.issuer,
        "authorization_endpoint": server.endpoint("authorize"),
        "token_endpoint": server.endpoint("token"),
        "userinfo_endpoint": server.endpoint("userinfo"),
        "registration_endpoint": f"{org}/oauth2/v1/clients",
        "jwks_uri": server.endpoint("keys"),
        "response_types_supported": RESPONSE_TYPES,
        "response_modes_supported": ["query", "fragment", "form_post", "okta_post_message"],
        "grant_types_supported": grants,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": METHODS,
        "claims_supported": OIDC_CLAIMS if openid else ACCESS_CLAIMS,
        "code_challenge_methods_supported": ["S256"],
        "introspection_endpoint": server.endpoint("introspect"),
        "introspection_endpoint_auth_methods_supported": METHODS,
        "revocation_endpoint": server.endpoint("revoke"),
        "revocation_endpoint_auth_methods_supported": METHODS,
        "end_session_endpoint": server.endpoint("logout"),
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": SIGNING[:3] if server.is_org else SIGNING,
        "dpop_signing_alg_values_supported": [a for a in SIGNING if not a.startswith("HS")],
    }
    return doc


_CACHE = {"Cache-Control": "max-age=86400, must-revalidate"}


async def openid_configuration(request: Request) -> Response:
    return OktaJSONResponse(metadata(server_of(request), openid=True), headers=_CACHE)


async def oauth_metadata(request: Request) -> Response:
    return OktaJSONResponse(metadata(server_of(request), openid=False), headers=_CACHE)
