"""``POST {base}/v1/token`` (okta-wire §2, §6): form rules, client auth, DPoP, grant dispatch.

Order is Okta's: request shape, then client authentication (which burns an assertion ``jti``),
then grant-type checks, then the DPoP proof — so a ``use_dpop_nonce`` answer still spends the
client assertion and the retry needs a fresh one.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authgate.idp.client_auth import authenticate_client
from authgate.idp.config import EXCHANGE_GRANT
from authgate.idp.dpop import proof_from_headers, validate_proof
from authgate.idp.endpoints import idp_of, server_of
from authgate.idp.errors import OAuthProblem
from authgate.idp.form import read_form
from authgate.idp.grants import CUSTOM_GRANTS, GRANTS, ORG_GRANTS, GrantContext

__all__ = ["token"]


async def token(request: Request) -> Response:
    idp = idp_of(request)
    server = server_of(request)
    form = await read_form(request, idp.config.max_body_bytes)
    endpoint = server.endpoint("token")
    grant = form.get("grant_type")
    if grant:  # logged even when client authentication fails
        request.state.grant_type = grant[:100]
    client = authenticate_client(idp, form, request.headers.get("authorization"), endpoint)
    request.state.client_id = client.app.client_id
    supported = ORG_GRANTS if server.is_org else CUSTOM_GRANTS
    if not grant:
        raise OAuthProblem(
            400,
            "invalid_request",
            f"The token request must specify a 'grant_type'. Valid values: [{', '.join(supported)}]",
        )
    if grant == EXCHANGE_GRANT and server.is_org:
        raise OAuthProblem(
            400, "unsupported_grant_type", f"'{EXCHANGE_GRANT}' grant type is not supported."
        )
    if grant not in supported:
        raise OAuthProblem(
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server. "
            f"Configured grant types: [{', '.join(supported)}].",
        )
    if grant not in client.app.grants:
        raise OAuthProblem(
            400,
            "unauthorized_client",
            "The client is not authorized to use the provided grant type. "
            f"Configured grant types: [{', '.join(client.app.grants)}].",
        )
    jkt = None
    if client.app.dpop_bound_access_tokens:
        proof = proof_from_headers(request.headers.getlist("dpop"))
        jkt = validate_proof(proof, method="POST", url=endpoint, nonce=True, idp=idp)
    ctx = GrantContext(idp, server, client.app, client.method, form, jkt)
    return GRANTS[grant](ctx)
