"""authgate: verify Okta/OIDC credentials into a Principal, authorize it, and everything around it.

The public API is what this module exports; everything else may change between releases.
"""

from authgate.authn.base import Authenticator, Credential
from authgate.authn.chain import AuthenticatorChain
from authgate.authn.jwt import JWTAuthenticator
from authgate.clock import Clock, ManualClock, SystemClock
from authgate.errors import AuthError, AuthgateError, ConfigError, ErrorCode
from authgate.fingerprint import fingerprint
from authgate.jose.discovery import DiscoveredJWKS
from authgate.jose.dpop import DPoPVerifier
from authgate.jose.jwks import JWKSOptions, RemoteJWKS
from authgate.jose.key_source import KeySource, StaticKeys
from authgate.jose.keys import KeySet, VerificationKey
from authgate.jose.verdict_cache import VerdictCache
from authgate.principal import Actor, ClaimMapping, Principal, PrincipalKind, principal_from_claims
from authgate.settings import AuthgateSettings, IssuerSettings, load_settings
from authgate.verifier import IssuerConfig, TokenVerifier
from authgate.verifier_builder import build_verifier

__version__ = "0.1.0"

__all__ = [
    "Actor",
    "AuthError",
    "Authenticator",
    "AuthenticatorChain",
    "AuthgateError",
    "AuthgateSettings",
    "ClaimMapping",
    "Clock",
    "ConfigError",
    "Credential",
    "DPoPVerifier",
    "DiscoveredJWKS",
    "ErrorCode",
    "IssuerConfig",
    "IssuerSettings",
    "JWKSOptions",
    "JWTAuthenticator",
    "KeySet",
    "KeySource",
    "ManualClock",
    "Principal",
    "PrincipalKind",
    "RemoteJWKS",
    "StaticKeys",
    "SystemClock",
    "TokenVerifier",
    "VerdictCache",
    "VerificationKey",
    "build_verifier",
    "fingerprint",
    "load_settings",
    "principal_from_claims",
]
