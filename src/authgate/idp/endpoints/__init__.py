"""HTTP endpoints of the dev IdP, one module per Okta endpoint family (okta-wire §1-§4)."""

from __future__ import annotations

from starlette.requests import Request

from authgate.idp.errors import OktaProblem
from authgate.idp.state import IdP, ServerState

__all__ = ["idp_of", "server_of"]


def idp_of(request: Request) -> IdP:
    idp: IdP = request.app.state.idp
    return idp


def server_of(request: Request) -> ServerState:
    """The server named by the path (``/oauth2/{server_id}/…``) or the org AS; 404 E0000007."""
    idp = idp_of(request)
    server_id = request.path_params.get("server_id")
    if server_id is None:
        return idp.server("org")
    server = idp.find_server(server_id)
    if server is None or server.is_org:
        raise OktaProblem(
            404,
            "E0000007",
            f"Not found: Resource not found: {server_id} (AuthorizationServer)",
        )
    return server
