"""``POST {base}/v1/introspect`` (RFC 7662 §2, okta-wire §4.1): ``{"active":false}`` unless valid here.

Access tokens are active only on the server that minted them and while neither expired nor
revoked; refresh tokens likewise. Custom claims of the JWT are echoed after the standard members.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from authgate.idp.client_auth import authenticate_client
from authgate.idp.endpoints import idp_of, server_of
from authgate.idp.errors import OAuthProblem, OktaJSONResponse
from authgate.idp.form import read_form
from authgate.idp.state import IdP, ServerState

__all__ = ["introspect", "token_param"]

STANDARD = (
    "ver",
    "jti",
    "iss",
    "aud",
    "iat",
    "exp",
    "cid",
    "uid",
    "scp",
    "sub",
    "auth_time",
    "cnf",
)
INACTIVE = {"active": False}


def token_param(form: dict[str, str]) -> str:
    value = form.get("token")
    if not value:
        raise OAuthProblem(400, "invalid_request", "The 'token' parameter is required.")
    return value


def _access(claims: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "active": True,
        "token_type": "DPoP" if "cnf" in claims else "Bearer",
        "scope": " ".join(claims.get("scp", [])),
        "client_id": claims.get("cid"),
    }
    if "uid" in claims:
        body["username"] = claims.get("sub")
    for name in ("exp", "iat", "sub", "aud", "iss", "jti"):
        body[name] = claims.get(name)
    if "uid" in claims:
        body["uid"] = claims["uid"]
    if "cnf" in claims:
        body["cnf"] = claims["cnf"]
    body.update({k: v for k, v in claims.items() if k not in STANDARD})
    return body


def _refresh(idp: IdP, server: ServerState, value: str) -> dict[str, Any] | None:
    now = idp.clock.time()
    with idp.lock:
        record = idp.refresh_tokens.get(value)
    if record is None or record.revoked or record.server_id != server.id:
        return None
    expired = record.expires_at is not None and now >= record.expires_at
    if expired or now >= record.last_used + record.idle:
        return None
    user = idp.config.user(record.user_id) if record.user_id else None
    body: dict[str, Any] = {
        "active": True,
        "token_type": "Bearer",
        "scope": " ".join(record.scopes),
        "client_id": record.client_id,
    }
    if user is not None:
        body["username"] = user.login
    if record.expires_at is not None:
        body["exp"] = int(record.expires_at)
    body["sub"] = user.login if user is not None else record.client_id
    if user is not None:
        body["uid"] = user.id
    return body


async def introspect(request: Request) -> Response:
    idp = idp_of(request)
    server = server_of(request)
    form = await read_form(request, idp.config.max_body_bytes)
    if "client_id" in request.query_params:  # okta-wire §4.1: public clients may use the query
        form.setdefault("client_id", request.query_params["client_id"])
    client = authenticate_client(
        idp, form, request.headers.get("authorization"), server.endpoint("introspect")
    )
    request.state.client_id = client.app.client_id
    value = token_param(form)
    claims = idp.validate_access_token(value, server.id)
    body = _access(claims) if claims is not None else _refresh(idp, server, value)
    return OktaJSONResponse(body or INACTIVE, headers={"Cache-Control": "no-store"})
