"""Gateway middleware: one concern per file, each pure ASGI (Starlette ``docs/middleware.md``).

Order, outermost first: request id → access log → metrics → (target: proxy or forward-auth
shape) → audit → limiter → authenticate → authorize → identity headers → endpoint.
"""

from authgate.gateway.middleware.access_log import AccessLogMiddleware
from authgate.gateway.middleware.audit import AuditMiddleware
from authgate.gateway.middleware.authenticate import AuthenticateMiddleware
from authgate.gateway.middleware.authorize import AuthorizeMiddleware
from authgate.gateway.middleware.identity_headers import IdentityHeadersMiddleware
from authgate.gateway.middleware.limiter import LimiterMiddleware
from authgate.gateway.middleware.metrics import MetricsMiddleware
from authgate.gateway.middleware.request_id import RequestIdMiddleware

__all__ = [
    "AccessLogMiddleware",
    "AuditMiddleware",
    "AuthenticateMiddleware",
    "AuthorizeMiddleware",
    "IdentityHeadersMiddleware",
    "LimiterMiddleware",
    "MetricsMiddleware",
    "RequestIdMiddleware",
]
