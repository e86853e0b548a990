"""Gateway admin dashboard (``/__authgate/``): status pills, live counters, denials, tokens, policy.

``AdminConsole`` is the ASGI app the gateway mounts; ``RecentDenialsMiddleware`` feeds it;
``ConsoleState`` is what a deployment can attach (AAA services for the backend stats table).
"""

from authgate.gateway.admin.dashboard import DASHBOARD_PREFIX, DASHBOARD_SCOPE, AdminConsole
from authgate.gateway.admin.denials import ConsoleState, RecentDenials, RecentDenialsMiddleware

__all__ = [
    "DASHBOARD_PREFIX",
    "DASHBOARD_SCOPE",
    "AdminConsole",
    "ConsoleState",
    "RecentDenials",
    "RecentDenialsMiddleware",
]
