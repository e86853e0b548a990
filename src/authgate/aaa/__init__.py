"""Network AAA: RADIUS (RFC 2865/2866/5997) and TACACS+ (RFC 8907) servers backed by Okta.

Devices send an operator's username and password; :class:`AAAService` checks them against the
configured backends (local hashes, Okta), maps Okta groups to a privilege level and answers
through :class:`RadiusServer` or :class:`TacacsServer`. :class:`AAARuntime` runs both.
"""

from __future__ import annotations

from authgate.aaa.config import AAAConfig, load_config
from authgate.aaa.radius.server import RadiusServer
from authgate.aaa.runtime import AAARuntime, build_service
from authgate.aaa.service import AAAService, AuthzDecision, Decision
from authgate.aaa.tacacs.server import TacacsServer

__all__ = [
    "AAAConfig",
    "AAARuntime",
    "AAAService",
    "AuthzDecision",
    "Decision",
    "RadiusServer",
    "TacacsServer",
    "build_service",
    "load_config",
]
