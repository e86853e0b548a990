"""Offline Okta-compatible authorization server for development and CI (okta-wire.md §1-§8).

Code that works against this server should work against Okta: same URL layout, token shapes,
error texts and DPoP behaviour. Build one with ``IdP(IdPConfig.default())`` and serve it with
:func:`authgate.idp.app.create_app` or ``authgate idp``.
"""

from authgate.idp.config import IdPConfig
from authgate.idp.state import IdP, ServerState

__all__ = ["IdP", "IdPConfig", "ServerState"]
