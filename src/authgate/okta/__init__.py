"""The outbound half of authgate: tokens from Okta and the Okta Management API (okta-wire §2-§6).

Client credentials (secret or private key), token exchange (RFC 8693), password and refresh
grants as ``httpx.Auth`` flows with a single-flight token cache; client-side DPoP (RFC 9449);
a resilient transport (retries, adaptive concurrency, circuit breaker) under every call; group
look-ups with a cache and a group → privilege map; errors with hints naming what to change.
"""

from __future__ import annotations

from authgate.okta.auth import (
    ClientCredentialsAuth,
    OktaTokenAuth,
    PasswordAuth,
    RefreshTokenAuth,
    TokenExchangeAuth,
)
from authgate.okta.client_assertion import ClientAssertion, SigningKey, load_signing_key
from authgate.okta.dpop import DPoPSigner
from authgate.okta.errors import OktaError
from authgate.okta.groups import GroupCache, PrivilegeMap
from authgate.okta.management import ManagementClient, OktaApp, OktaGroup, OktaUser, SSWSAuth
from authgate.okta.metrics import OktaMetrics, metrics_for
from authgate.okta.resilience import AdaptiveLimiter, CircuitBreaker, RetryPolicy
from authgate.okta.settings import (
    OktaSettings,
    build_management_client,
    build_token_client,
    load_okta_settings,
)
from authgate.okta.token_cache import CacheKey, RedisTokenStore, TokenCache, TokenResponse
from authgate.okta.token_client import OktaTokenClient
from authgate.okta.transport import RealSleeper, ResilienceConfig, ResilientTransport, Sleeper

__all__ = [
    "AdaptiveLimiter",
    "CacheKey",
    "CircuitBreaker",
    "ClientAssertion",
    "ClientCredentialsAuth",
    "DPoPSigner",
    "GroupCache",
    "ManagementClient",
    "OktaApp",
    "OktaError",
    "OktaGroup",
    "OktaMetrics",
    "OktaSettings",
    "OktaTokenAuth",
    "OktaTokenClient",
    "OktaUser",
    "PasswordAuth",
    "PrivilegeMap",
    "RealSleeper",
    "RedisTokenStore",
    "RefreshTokenAuth",
    "ResilienceConfig",
    "ResilientTransport",
    "RetryPolicy",
    "SSWSAuth",
    "SigningKey",
    "Sleeper",
    "TokenCache",
    "TokenExchangeAuth",
    "TokenResponse",
    "build_management_client",
    "build_token_client",
    "load_okta_settings",
    "load_signing_key",
    "metrics_for",
]
