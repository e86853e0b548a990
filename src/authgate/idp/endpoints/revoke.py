"""``POST {base}/v1/revoke`` (RFC 7009 §2, okta-wire §4.2): always 200 with an empty body.

A client revokes only its own tokens. Revoking a refresh token revokes its whole grant (the
access tokens minted from it too); revoking an access token leaves the refresh token alive.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authgate.idp.client_auth import authenticate_client
from authgate.idp.endpoints import idp_of, server_of
from authgate.idp.endpoints.introspect import token_param
from authgate.idp.form import read_form
from authgate.idp.grants.refresh import revoke_refresh_family

__all__ = ["revoke"]


async def revoke(request: Request) -> Response:
    idp = idp_of(request)
    server = server_of(request)
    form = await read_form(request, idp.config.max_body_bytes)
    if "client_id" in request.query_params:  # okta-wire §4.1: public clients may use the query
        form.setdefault("client_id", request.query_params["client_id"])
    client = authenticate_client(
        idp, form, request.headers.get("authorization"), server.endpoint("revoke")
    )
    request.state.client_id = client.app.client_id
    value = token_param(form)
    with idp.lock:
        record = idp.refresh_tokens.get(value)
    if record is not None and record.client_id == client.app.client_id:
        if record.server_id == server.id:
            revoke_refresh_family(idp, record)
    else:
        claims = idp.signed_claims(value, server.id)
        jti = str(claims.get("jti")) if claims else ""
        with idp.lock:
            issued = idp.tokens.get(jti)
            if issued is not None and issued.client_id == client.app.client_id:
                issued.revoked = True
    return Response(status_code=200, headers={"Cache-Control": "no-store"})
