"""Starlette app factory for the dev IdP (okta-wire §1.1 URL layout) and a ``serve`` helper."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from authgate.idp.state import IdP

__all__ = ["create_app"]


def create_app(idp: IdP) -> Starlette:
    """The ASGI app serving ``idp`` (endpoints are added as they are built)."""
    app = Starlette(routes=list[Route]())
    app.state.idp = idp
    return app
