"""LimiterMiddleware: counts authentication failures only; blocks with 429 + Retry-After."""

from __future__ import annotations

import pytest
from tests.gateway.middleware.helpers import (
    call,
    headers,
    http_scope,
    ok_app,
    prepared,
    refusing_app,
    status,
)

from authgate.clock import ManualClock
from authgate.errors import AuthError, ErrorCode
from authgate.gateway.metrics import GatewayMetrics
from authgate.gateway.middleware.limiter import LimiterMiddleware
from authgate.limits.base import LimitConfig
from authgate.limits.memory import MemoryFailureLimiter
from authgate.policy.rules import Rule

pytestmark = pytest.mark.anyio
RULE = Rule("r", "/x")


async def test_blocks_after_limit_with_exact_retry_after() -> None:
    clock = ManualClock()
    limiter = MemoryFailureLimiter(
        LimitConfig(ip_limit=2, identity_limit=0, interval=30), clock=clock
    )
    metrics = GatewayMetrics()
    failing = LimiterMiddleware(
        refusing_app(AuthError(ErrorCode.INVALID_SIGNATURE, "bad")), limiter, metrics=metrics
    )
    for _ in range(2):
        scope = http_scope([(b"authorization", b"Bearer x.y.z")])
        prepared(scope, RULE)
        assert status(await call(failing, scope)) == 401
    clock.advance(10)
    scope = http_scope([(b"authorization", b"Bearer x.y.z")])
    prepared(scope, RULE)
    sent = await call(LimiterMiddleware(ok_app, limiter, metrics=metrics), scope)
    assert status(sent) == 429
    assert headers(sent)[b"retry-after"] == b"20"
    assert (
        metrics.registry.get_sample_value("authgate_gateway_limiter_blocks_total", {"kind": "ip"})
        == 1
    )


@pytest.mark.parametrize(
    "error",
    [
        AuthError(ErrorCode.ROLE_MISSING, "authz refusal"),
        AuthError(ErrorCode.MISSING_TOKEN, "nothing presented"),
    ],
)
async def test_authorization_and_missing_token_are_not_counted(error: AuthError) -> None:
    limiter = MemoryFailureLimiter(
        LimitConfig(ip_limit=1, identity_limit=0, interval=30), clock=ManualClock()
    )
    for _ in range(3):
        scope = http_scope()
        prepared(scope, RULE)
        await call(LimiterMiddleware(refusing_app(error), limiter), scope)
    scope = http_scope()
    prepared(scope, RULE)
    assert status(await call(LimiterMiddleware(ok_app, limiter), scope)) == 200


async def test_service_token_identity_is_limited_across_ips() -> None:
    limiter = MemoryFailureLimiter(
        LimitConfig(ip_limit=0, identity_limit=1, interval=30), clock=ManualClock()
    )
    token = b"Bearer ag_build-bot_" + b"A" * 40
    scope = http_scope([(b"authorization", token)], client=("198.51.100.1", 1))
    prepared(scope, RULE)
    await call(
        LimiterMiddleware(refusing_app(AuthError(ErrorCode.INVALID_SERVICE_TOKEN, "x")), limiter),
        scope,
    )
    other = http_scope([(b"authorization", token)], client=("198.51.100.2", 1))
    prepared(other, RULE)
    sent = await call(LimiterMiddleware(ok_app, limiter), other)
    assert status(sent) == 429
