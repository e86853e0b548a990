"""authgate: verify Okta/OIDC credentials into a Principal, authorize it, and everything around it."""

from authgate.clock import Clock, ManualClock, SystemClock
from authgate.errors import AuthError, AuthgateError, ConfigError, ErrorCode
from authgate.fingerprint import fingerprint
from authgate.principal import Actor, ClaimMapping, Principal, PrincipalKind, principal_from_claims

__version__ = "0.1.0"

__all__ = [
    "Actor",
    "AuthError",
    "AuthgateError",
    "ClaimMapping",
    "Clock",
    "ConfigError",
    "ErrorCode",
    "ManualClock",
    "Principal",
    "PrincipalKind",
    "SystemClock",
    "fingerprint",
    "principal_from_claims",
]
