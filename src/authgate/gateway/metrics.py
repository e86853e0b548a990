"""Gateway Prometheus metrics on an explicit ``CollectorRegistry`` (exposition format 0.0.4).

Why explicit: nothing is registered in prometheus' global registry at import, so two gateways
(or two tests) in one process never clash. Per-request series are pre-resolved label children
cached in a dict, because ``.labels()`` costs microseconds on the ``/authz`` hot path. Cache and
key-source figures (verdict cache hits/misses, JWKS fetches and key age) are read at scrape time
by a collector instead of being pushed per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from authgate.jose.verdict_cache import VerdictCache
from authgate.verifier import TokenVerifier

__all__ = ["CONTENT_TYPE", "GatewayMetrics"]

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
_LATENCY = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
_UPSTREAM = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _StateCollector(Collector):
    """Scrape-time figures from the verifier: verdict cache and JWKS state per issuer."""

    def __init__(self, verifier: Callable[[], TokenVerifier | None]) -> None:
        self._verifier = verifier

    def collect(self) -> Iterator[Metric]:
        verifier = self._verifier()
        hits = CounterMetricFamily(
            "authgate_verdict_cache_hits", "Verdict cache hits (verified tokens reused)"
        )
        misses = CounterMetricFamily("authgate_verdict_cache_misses", "Verdict cache misses")
        cache: VerdictCache | None = verifier.cache if verifier is not None else None
        hits.add_metric([], float(cache.hits if cache else 0))
        misses.add_metric([], float(cache.misses if cache else 0))
        yield hits
        yield misses
        fetches = CounterMetricFamily(
            "authgate_jwks_refreshes", "JWKS fetches per issuer", labels=["issuer"]
        )
        failures = CounterMetricFamily(
            "authgate_jwks_refresh_failures", "Failed JWKS fetches per issuer", labels=["issuer"]
        )
        age = GaugeMetricFamily(
            "authgate_jwks_age_seconds", "Age of the loaded keys per issuer", labels=["issuer"]
        )
        for cfg in verifier.issuers if verifier is not None else ():
            status = cfg.keys.status()
            fetches.add_metric([cfg.issuer], float(status.fetches))
            failures.add_metric([cfg.issuer], float(status.failures))
            if status.age is not None:
                age.add_metric([cfg.issuer], status.age)
        yield fetches
        yield failures
        yield age


class GatewayMetrics:
    """All gateway series; ``request()`` and friends are the hot-path entry points."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        verifier: Callable[[], TokenVerifier | None] | None = None,
    ) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "authgate_gateway_requests",
            "Requests by route (policy rule or system route) and decision",
            ["route", "decision"],
            registry=r,
        )
        self.auth_latency = Histogram(
            "authgate_gateway_auth_seconds",
            "Time to authenticate and authorize a request",
            buckets=_LATENCY,
            registry=r,
        )
        self.limiter_blocks = Counter(
            "authgate_gateway_limiter_blocks",
            "Requests refused by the failure limiter",
            ["kind"],
            registry=r,
        )
        self.upstream_latency = Histogram(
            "authgate_gateway_upstream_seconds",
            "Upstream response time (to the response head)",
            buckets=_UPSTREAM,
            registry=r,
        )
        self.upstream_errors = Counter(
            "authgate_gateway_upstream_errors",
            "Upstream failures by kind (connect, timeout, protocol)",
            ["kind"],
            registry=r,
        )
        self.policy_reloads = Counter(
            "authgate_gateway_policy_reloads", "Policy reload attempts", ["outcome"], registry=r
        )
        if verifier is not None:
            r.register(_StateCollector(verifier))
        self._children: dict[tuple[str, str], Any] = {}

    def request(self, route: str, decision: str) -> None:
        child = self._children.get((route, decision))
        if child is None:
            child = self._children[(route, decision)] = self.requests.labels(route, decision)
        child.inc()

    def limiter_block(self, kind: str) -> None:
        self.limiter_blocks.labels(kind).inc()

    def upstream(self, seconds: float) -> None:
        self.upstream_latency.observe(seconds)

    def upstream_error(self, kind: str) -> None:
        self.upstream_errors.labels(kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def register_all(self, collectors: Iterable[Collector]) -> None:
        for collector in collectors:
            self.registry.register(collector)
