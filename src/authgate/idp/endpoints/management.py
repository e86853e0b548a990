"""Okta Management API subset (okta-wire §5): users, groups, a user's groups, apps; read-only.

Clients of Okta's ``/api/v1`` — our own ``authgate.okta.management``, Okta's SDKs — are tested
against these answers, so they keep Okta's shapes: Group/User/App objects, cursor paging with
``limit``/``after`` and separate ``Link`` headers (rel self/next), ``X-Okta-Request-Id`` on every
answer, and Okta's auth failures — SSWS or org-AS ``Bearer``/``DPoP`` tokens, ``401 E0000011``,
``403`` empty body + ``WWW-Authenticate ... insufficient_scope``, ``403 E0000006`` without an
admin role, ``404 E0000007``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from authgate.idp import ids
from authgate.idp.config import AppConfig, GroupConfig, UserConfig
from authgate.idp.dpop import DPoPProofError, proof_from_headers, validate_proof
from authgate.idp.errors import OAuthProblem, OktaJSONResponse, OktaProblem
from authgate.idp.state import IdP

__all__ = ["READ_SCOPES", "has_admin_role", "routes"]

ORG_SERVER = "org"
READ_SCOPES = {"users": "okta.users.read", "groups": "okta.groups.read", "apps": "okta.apps.read"}
_CREATED = datetime(2024, 1, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
_KINDS = {"users": "User", "groups": "UserGroup", "apps": "AppInstance"}


class _Refused(Exception):
    """An authentication/authorization refusal carrying the exact answer to send."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def has_admin_role(role: str | None) -> bool:
    """Okta's admin role types all end in ``ADMIN`` (SUPER_ADMIN, READ_ONLY_ADMIN, …)."""
    return role is not None and role.upper().replace("_", "").endswith("ADMIN")


def _same(given: str, expected: str) -> bool:
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


def _bad_token() -> _Refused:
    return _Refused(OktaProblem(401, "E0000011", "Invalid token provided").response())


def _no_permission() -> _Refused:
    summary = "You do not have permission to perform the requested action"
    return _Refused(OktaProblem(403, "E0000006", summary).response())


def _insufficient_scope(idp: IdP, scheme: str, scope: str, path: str) -> _Refused:
    # Okta's own header (okta-sdk-golang#145): Bearer params plus the resource path; no body.
    org = idp.org_url
    value = (
        f'{scheme} authorization_uri="{org}/oauth2/v1/authorize", realm="{org}", '
        f'scope="{scope}", error="insufficient_scope", '
        f'error_description="The access token provided does not contain the required scopes.", '
        f'resource="{path}"'
    )
    return _Refused(Response(status_code=403, headers={"WWW-Authenticate": value}))


def _ssws(idp: IdP, token: str) -> None:
    matches = [t for t in idp.config.api_tokens if _same(token, t.value)]
    if not matches:
        raise _bad_token()
    login = matches[0].user
    if login is None:
        return  # a token without a user stands for the org's super admin
    user = idp.config.user(login)
    if user is None or user.status != "ACTIVE":
        raise _bad_token()
    if not has_admin_role(user.role):
        raise _no_permission()


def _oauth(idp: IdP, request: Request, scheme: str, token: str, scope: str) -> None:
    claims = idp.validate_access_token(token, ORG_SERVER)
    if claims is None:
        raise _bad_token()
    jkt = (claims.get("cnf") or {}).get("jkt") if isinstance(claims.get("cnf"), dict) else None
    if scheme == "Bearer" and jkt:
        description = "The resource request must use the DPoP authentication scheme when using a DPoP bound token."
        raise _Refused(OAuthProblem(400, "invalid_request", description).response())
    if scheme == "DPoP":
        if not jkt:
            description = "The presented access_token is not DPoP bound."
            raise _Refused(OAuthProblem(401, "invalid_token", description).response())
        try:
            proof = proof_from_headers(request.headers.getlist("dpop"))
            # validate_proof drops the query, as htu excludes it (RFC 9449 §4.2).
            url = str(request.url)
            presented = validate_proof(
                proof, method=request.method, url=url, access_token=token, idp=idp
            )
        except DPoPProofError as error:
            raise _Refused(error.response()) from error
        if not hmac.compare_digest(presented, str(jkt)):
            failure = DPoPProofError("The access_token is not bound to the provided DPoP proof.")
            raise _Refused(failure.response())
    scp = claims.get("scp")
    granted: list[Any] = scp if isinstance(scp, list) else []
    # okta.<x>.manage includes okta.<x>.read.
    if scope not in granted and scope.replace(".read", ".manage") not in granted:
        raise _insufficient_scope(idp, scheme, scope, request.url.path)
    uid = claims.get("uid")
    user = idp.config.user(str(uid)) if uid else None
    app = idp.app(str(claims.get("cid", "")))
    role = user.role if user is not None else app.role if app is not None else None
    if not has_admin_role(role):
        raise _no_permission()


def authorize(idp: IdP, request: Request, scope: str) -> None:
    """Let the request through or raise :class:`_Refused` with Okta's exact answer."""
    header = request.headers.get("authorization")
    if not header:
        raise _Refused(OktaProblem(403, "E0000005", "Invalid session").response())
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if header.startswith("SSWS") and header[4:].strip():
        # okta 3.4.6 sends "SSWS<token>" without the space (Configuration.auth_settings): accept both.
        _ssws(idp, header[4:].strip())
    elif scheme in ("Bearer", "DPoP") and token:
        _oauth(idp, request, scheme, token, scope)
    else:
        raise _bad_token()


# -- Okta objects ------------------------------------------------------------------------------
def user_json(idp: IdP, user: UserConfig) -> dict[str, Any]:
    profile = {"firstName": None, "lastName": None, "mobilePhone": None, "secondEmail": None}
    profile.update(user.profile)
    return {
        "id": user.id,
        "status": user.status,
        "created": _CREATED,
        "activated": _CREATED,
        "statusChanged": _CREATED,
        "lastLogin": None,
        "lastUpdated": _CREATED,
        "passwordChanged": _CREATED,
        "type": {"id": ids.stable_id("oty", "default")},
        "profile": profile,
        "credentials": {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": f"{idp.org_url}/api/v1/users/{user.id}"}},
    }


def group_json(idp: IdP, group: GroupConfig) -> dict[str, Any]:
    href = f"{idp.org_url}/api/v1/groups/{group.id}"
    logo = f"{idp.org_url}/img/logos/groups/okta"
    object_class = (
        "okta:windows_security_principal" if group.type == "APP_GROUP" else "okta:user_group"
    )
    return {
        "id": group.id,
        "created": _CREATED,
        "lastUpdated": _CREATED,
        "lastMembershipUpdated": _CREATED,
        "objectClass": [object_class],
        "type": group.type,
        "profile": {"name": group.name, "description": group.description},
        "_links": {
            "logo": [
                {"name": size, "href": f"{logo}-{size}.png", "type": "image/png"}
                for size in ("medium", "large")
            ],
            "users": {"href": f"{href}/users"},
            "apps": {"href": f"{href}/apps"},
        },
    }


def app_json(idp: IdP, app: AppConfig) -> dict[str, Any]:
    return {
        "id": app.client_id,
        "name": "oidc_client",
        "label": app.name,
        "status": app.status,
        "created": _CREATED,
        "lastUpdated": _CREATED,
        "signOnMode": "OPENID_CONNECT",
        "credentials": {
            "oauthClient": {
                "client_id": app.client_id,
                "token_endpoint_auth_method": app.auth_method,
            }
        },
        "settings": {
            "oauthClient": {
                "application_type": app.type,
                "grant_types": list(app.grants),
                "redirect_uris": list(app.redirect_uris),
                "dpop_bound_access_tokens": app.dpop_bound_access_tokens,
            }
        },
        "_links": {"self": {"href": f"{idp.org_url}/api/v1/apps/{app.client_id}"}},
    }


# -- paging ------------------------------------------------------------------------------------
def _page(
    idp: IdP, request: Request, items: list[dict[str, Any]], default: int, ceiling: int
) -> Response:
    """One page of ``items`` (ordered by id, so ``after`` = last id seen works like Okta's cursor)."""
    params = dict(request.query_params)
    raw_limit = params.get("limit", str(default))
    if not raw_limit.lstrip("-").isdigit():
        raise OktaProblem(
            400, "E0000001", "Api validation failed: limit", ["limit: must be an integer"]
        )
    limit = min(max(int(raw_limit), 1), ceiling)
    ordered = sorted(items, key=lambda item: str(item["id"]))
    after = params.get("after")
    if after:
        ordered = [item for item in ordered if str(item["id"]) > after]
    page = ordered[:limit]
    base = f"{idp.org_url}{request.url.path}"
    query = request.url.query
    links = [f'<{base}{"?" + query if query else ""}>; rel="self"']
    if len(ordered) > limit:
        params.update(limit=str(limit), after=str(page[-1]["id"]))
        links.append(f'<{base}?{urlencode(params)}>; rel="next"')
    response = OktaJSONResponse(page)
    for link in links:  # separate Link headers, as Okta sends them
        response.raw_headers.append((b"link", link.encode()))
    return response


def _search(
    items: list[dict[str, Any]], request: Request, fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    if "filter" in request.query_params or "search" in request.query_params:
        raise OktaProblem(
            400, "E0000031", "Invalid search criteria.", ["Only 'q' is supported by the dev IdP"]
        )
    q = request.query_params.get("q", "").lower()
    if not q:
        return items
    return [
        i
        for i in items
        if any(str(i["profile"].get(f) or "").lower().startswith(q) for f in fields)
    ]


def routes(idp: IdP) -> list[BaseRoute]:
    """The Management API routes (GET only)."""
    cfg = idp.config

    def find(kind: str, key: str) -> Any:
        found = {"users": cfg.user, "groups": cfg.group, "apps": cfg.app}[kind](key)
        if found is None:
            raise OktaProblem(
                404, "E0000007", f"Not found: Resource not found: {key} ({_KINDS[kind]})"
            )
        return found

    def list_users(request: Request) -> Response:
        users = _search(
            [user_json(idp, u) for u in cfg.users],
            request,
            ("login", "email", "firstName", "lastName"),
        )
        return _page(idp, request, users, 200, 200)

    def get_user(request: Request) -> Response:
        return OktaJSONResponse(user_json(idp, find("users", request.path_params["id"])))

    def user_groups(request: Request) -> Response:
        user = find("users", request.path_params["id"])
        return _page(idp, request, [group_json(idp, g) for g in cfg.user_groups(user)], 200, 200)

    def list_groups(request: Request) -> Response:
        groups = _search([group_json(idp, g) for g in cfg.groups], request, ("name",))
        return _page(idp, request, groups, 10_000, 10_000)

    def get_group(request: Request) -> Response:
        return OktaJSONResponse(group_json(idp, find("groups", request.path_params["id"])))

    def group_users(request: Request) -> Response:
        group = find("groups", request.path_params["id"])
        members = [u for u in cfg.users if group in cfg.user_groups(u)]
        return _page(idp, request, [user_json(idp, u) for u in members], 1000, 1000)

    def list_apps(request: Request) -> Response:
        return _page(idp, request, [app_json(idp, a) for a in cfg.apps], 20, 200)

    def get_app(request: Request) -> Response:
        return OktaJSONResponse(app_json(idp, find("apps", request.path_params["id"])))

    def endpoint(
        kind: str, handler: Callable[[Request], Response]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                authorize(idp, request, READ_SCOPES[kind])
                response = handler(request)
            except _Refused as refused:
                response = refused.response
            except OktaProblem as problem:
                response = problem.response()
            response.headers["X-Okta-Request-Id"] = ids.request_id()
            return response

        return run

    table: list[tuple[str, str, Callable[[Request], Response]]] = [
        ("/api/v1/users", "users", list_users),
        ("/api/v1/users/{id}", "users", get_user),
        ("/api/v1/users/{id}/groups", "users", user_groups),
        ("/api/v1/groups", "groups", list_groups),
        ("/api/v1/groups/{id}", "groups", get_group),
        ("/api/v1/groups/{id}/users", "groups", group_users),
        ("/api/v1/apps", "apps", list_apps),
        ("/api/v1/apps/{id}", "apps", get_app),
    ]
    return [Route(path, endpoint(kind, handler), methods=["GET"]) for path, kind, handler in table]
