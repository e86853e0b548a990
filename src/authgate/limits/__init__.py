"""Failure rate limiting: ``base`` (protocol, config, guard), ``memory`` (default), ``redis``."""

from authgate.limits.base import FailureLimiter, GuardedAuthenticator, LimitConfig, rate_limited
from authgate.limits.memory import MemoryFailureLimiter

__all__ = [
    "FailureLimiter",
    "GuardedAuthenticator",
    "LimitConfig",
    "MemoryFailureLimiter",
    "rate_limited",
]
