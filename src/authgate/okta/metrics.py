"""Prometheus metrics of the Okta client (names fixed: existing dashboards use them).

Nothing is registered at import time: metrics live in a :class:`CollectorRegistry` that is passed
in, or in a module-level one created on first use — never prometheus' global ``REGISTRY``, where
two clients (or two tests) would clash on duplicate names. One :class:`OktaMetrics` exists per
registry, so every client sharing a registry also shares the series.
"""

from __future__ import annotations

import threading
import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["OktaMetrics", "default_registry", "metrics_for"]

_default: CollectorRegistry | None = None
_lock = threading.Lock()
_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, OktaMetrics] = (
    weakref.WeakKeyDictionary()
)
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def default_registry() -> CollectorRegistry:
    """The module's own registry, created lazily (expose it with ``generate_latest``)."""
    global _default
    with _lock:
        if _default is None:
            _default = CollectorRegistry(auto_describe=True)
        return _default


class OktaMetrics:
    """The eight Okta-client series; ``outcome`` is ``ok`` or an ``okta.*`` error code."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.token_requests = Counter(
            "okta_token_requests_total",
            "Token endpoint requests by grant and outcome",
            ["grant", "outcome"],
            registry=registry,
        )
        self.token_latency = Histogram(
            "okta_token_latency_seconds",
            "Token endpoint latency (retries and DPoP nonce round trips included)",
            ["grant", "outcome"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.group_requests = Counter(
            "okta_group_requests_total",
            "Management API group look-ups by outcome",
            ["outcome"],
            registry=registry,
        )
        self.group_latency = Histogram(
            "okta_group_latency_seconds",
            "Management API group look-up latency (all pages)",
            ["outcome"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "okta_retries_total",
            "Retried outbound Okta requests by the outcome that caused the retry",
            ["outcome"],
            registry=registry,
        )
        self.group_cache_hits = Counter(
            "okta_group_cache_hits_total",
            "Group cache hits (positive = groups, negative = a remembered failure)",
            ["outcome"],
            registry=registry,
        )
        self.group_cache_misses = Counter(
            "okta_group_cache_misses_total",
            "Group cache misses (absent or expired)",
            ["outcome"],
            registry=registry,
        )
        self.circuit_open = Gauge(
            "okta_circuit_open",
            "1 while the circuit breaker to an Okta host is open (failing fast)",
            ["upstream"],
            registry=registry,
        )


def metrics_for(registry: CollectorRegistry | None = None) -> OktaMetrics:
    """The :class:`OktaMetrics` of ``registry`` (the module default when None), made once."""
    registry = registry if registry is not None else default_registry()
    with _lock:
        found = _by_registry.get(registry)
        if found is None:
            found = OktaMetrics(registry)
            _by_registry[registry] = found
        return found
