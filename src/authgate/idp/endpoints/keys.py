"""``GET {base}/v1/keys``: the server's JWKS with Okta's counting-down caching (okta-wire §3.5)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from authgate.idp.endpoints import server_of
from authgate.idp.errors import OktaJSONResponse

__all__ = ["keys"]


async def keys(request: Request) -> Response:
    ring = server_of(request).keys
    return OktaJSONResponse(ring.jwks(), headers={"Cache-Control": ring.cache_control()})
