"""Gateway test fixtures: a real verifier over static keys, a policy, the assembled app.

Tokens are signed by ``tests.support.tokens`` with a session RSA key; the verifier runs on a
:class:`ManualClock` pinned inside the tokens' lifetime. ``gateway(...)`` builds the app from
:class:`GatewayComponents` exactly as ``authgate serve`` does, with an inline stand-in upstream
that echoes what it received (headers, principal) so tests see what the upstream would see.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send
from tests.support.asgi_server import Served, serve
from tests.support.tokens import (
    AUDIENCE,
    ISSUER,
    NOW,
    SigningKey,
    b64,
    ec_key,
    encode,
    jwks,
    okta_claims,
    rsa_key,
)

from authgate.authn.chain import AuthenticatorChain
from authgate.authn.jwt import JWTAuthenticator
from authgate.clock import ManualClock
from authgate.gateway.app import GatewayComponents, create_app
from authgate.gateway.identity import IdentityAssertion, IdentityHeaders
from authgate.gateway.metrics import GatewayMetrics
from authgate.gateway.settings import IDENTITY_FIELDS, GatewaySettings
from authgate.jose.dpop import DPoPVerifier, jwk_thumbprint
from authgate.jose.key_source import StaticKeys
from authgate.jose.keys import KeySet
from authgate.jose.verdict_cache import VerdictCache
from authgate.limits.base import LimitConfig
from authgate.limits.memory import MemoryFailureLimiter
from authgate.observability.audit import AuditEvent, AuditLog
from authgate.policy.reload import PolicyHolder
from authgate.policy.rules import parse_policy
from authgate.verifier import IssuerConfig, TokenVerifier

VERIFY_AT = NOW + 10

POLICY = """
[[rules]]
name = "health"
path = "/api/v1/health"
public = true

[[rules]]
name = "policies-read"
methods = ["GET"]
path = "/api/v1/policies"
scopes = ["api:read"]

[[rules]]
name = "policies-write"
methods = ["POST"]
path = "/api/v1/policies"
roles = ["Admin"]

[[rules]]
name = "workspace"
path = "/api/v1/workspaces/{ws}/items"
workspace_param = "ws"

[[rules]]
name = "dpop-only"
path = "/api/v1/secure"
require_dpop = true

[[rules]]
name = "services-only"
path = "/api/v1/internal"
kinds = ["service", "client"]

[[rules]]
name = "files"
path = "/api/v1/files/{rest:path}"
authenticated = true
"""


@dataclass
class MemorySink:
    events: list[AuditEvent]

    async def write(self, events: Any) -> None:
        self.events.extend(events)


async def echo_upstream(scope: Scope, receive: Receive, send: Send) -> None:
    """Stand-in for the reverse proxy: answers with what it would forward."""
    if scope["type"] != "http":
        return
    principal = scope.get("authgate.principal")
    body = orjson.dumps(
        {
            "path": scope["path"],
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
            "upstream": [
                [k.decode(), v.decode()] for k, v in scope.get("authgate.upstream_headers", [])
            ],
            "subject": principal.subject if principal else None,
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass
class Gateway:
    app: ASGIApp
    components: GatewayComponents
    clock: ManualClock
    audit_sink: MemorySink
    key: SigningKey

    def token(self, **claims: Any) -> str:
        return encode(self.key, okta_claims(**claims))


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return rsa_key("gw-rsa")


@pytest.fixture(scope="session")
def dpop_key() -> SigningKey:
    return ec_key("dpop-1")


def dpop_proof(
    key: SigningKey,
    method: str,
    url: str,
    token: str,
    *,
    iat: int = VERIFY_AT,
    jti: str | None = None,
) -> str:
    public = {k: v for k, v in key.jwk.items() if k in ("kty", "crv", "x", "y")}
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": public}
    claims = {
        "jti": jti or secrets.token_urlsafe(16),
        "htm": method,
        "htu": url,
        "iat": iat,
        "ath": b64(hashlib.sha256(token.encode()).digest()),
    }
    return encode(key, claims, header=header)


def thumbprint(key: SigningKey) -> str:
    return jwk_thumbprint({k: v for k, v in key.jwk.items() if k in ("kty", "crv", "x", "y")})


MakeGateway = Callable[..., Gateway]


def serve_gateway(app: ASGIApp) -> AbstractContextManager[Served]:
    """The shared test server with the lifespan on, so the gateway's shutdown hooks (closing the
    proxy pool) run on the server's own event loop."""
    return serve(app, lifespan="on")


@pytest.fixture
def make_gateway(signing_key: SigningKey) -> MakeGateway:
    def build(
        policy: str = POLICY,
        *,
        limiter: LimitConfig | None = None,
        assertion: bool = False,
        upstream: ASGIApp | None = echo_upstream,
        audit_successes: bool = True,
        **settings: Any,
    ) -> Gateway:
        clock = ManualClock(VERIFY_AT)
        source = StaticKeys(KeySet.from_jwks(jwks(signing_key)), description="gateway-test")
        verifier = TokenVerifier(
            [IssuerConfig(ISSUER, source, (AUDIENCE,))],
            verdict_cache=VerdictCache(1000, clock=clock),
            clock=clock,
        )
        chain = AuthenticatorChain([JWTAuthenticator(verifier, dpop=DPoPVerifier(clock=clock))])
        gateway_settings = GatewaySettings(access_log=False, **settings)
        names = {f: gateway_settings.header_name(f) for f in IDENTITY_FIELDS}
        signer = (
            IdentityAssertion.generate(issuer="https://gateway.test", clock=clock)
            if assertion
            else None
        )
        sink = MemorySink([])
        components = GatewayComponents(
            settings=gateway_settings,
            authenticator=chain,
            holder=PolicyHolder(parse_policy(policy, fmt="toml")),
            metrics=GatewayMetrics(verifier=lambda: verifier),
            identity=IdentityHeaders(names, assertion=signer),
            limiter=MemoryFailureLimiter(limiter, clock=clock) if limiter else None,
            audit=AuditLog([sink], clock=clock),
            assertion=signer,
            upstream=upstream,
            audit_successes=audit_successes,
        )
        return Gateway(create_app(components), components, clock, sink, signing_key)

    return build
