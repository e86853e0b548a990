"""MetricsMiddleware: counts by route and decision, observes auth latency."""

from __future__ import annotations

import pytest
from tests.gateway.middleware.helpers import call, http_scope, ok_app, prepared, refusing_app

from authgate.errors import AuthError, ErrorCode
from authgate.gateway.metrics import GatewayMetrics
from authgate.gateway.middleware.metrics import MetricsMiddleware
from authgate.policy.rules import Rule

pytestmark = pytest.mark.anyio


def value(metrics: GatewayMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return found or 0.0


async def test_counts_allow_and_deny_per_route() -> None:
    metrics = GatewayMetrics()
    rule = Rule("read", "/x")
    scope = http_scope()
    prepared(scope, rule).auth_seconds = 0.0002
    await call(MetricsMiddleware(ok_app, metrics), scope)
    denied = http_scope()
    prepared(denied, rule)
    await call(
        MetricsMiddleware(refusing_app(AuthError(ErrorCode.ROLE_MISSING, "x")), metrics), denied
    )
    assert value(metrics, "authgate_gateway_requests_total", route="read", decision="allow") == 1
    assert (
        value(metrics, "authgate_gateway_requests_total", route="read", decision="forbidden") == 1
    )
    assert value(metrics, "authgate_gateway_auth_seconds_count") == 1
    assert b"authgate_verdict_cache_hits" not in metrics.render()  # no verifier: no collector


async def test_exception_is_counted_as_error() -> None:
    metrics = GatewayMetrics()

    async def broken(scope: object, receive: object, send: object) -> None:
        raise RuntimeError("boom")

    scope = http_scope()
    prepared(scope, Rule("r", "/x"))
    with pytest.raises(RuntimeError):
        await call(MetricsMiddleware(broken, metrics), scope)
    assert value(metrics, "authgate_gateway_requests_total", route="r", decision="error") == 1
