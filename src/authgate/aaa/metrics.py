"""Prometheus series of the AAA servers (per protocol), beside the Okta client's ``okta_*`` ones.

Built on an explicit :class:`CollectorRegistry` — never the global one — so two servers in one
process (or two tests) never clash. ``protocol`` is ``radius`` or ``tacacs``.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["AAAMetrics"]

M = TypeVar("M", Counter, Histogram)


class _Family(Generic[M]):
    """A metric whose ``labels(...)`` children are memoized: the hot path pays a dict lookup,
    not prometheus_client's label validation, on every packet."""

    def __init__(self, metric: M) -> None:
        self.metric: M = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def labels(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self.metric.labels(*values)
        return child


_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class AAAMetrics:
    """Requests, accepts, rejects (by code), challenges, latency and dropped packets."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = _Family(
            Counter(
                "aaa_requests_total",
                "AAA requests by protocol and kind (authn, authz, acct, status)",
                ["protocol", "kind"],
                registry=registry,
            )
        )
        self.accepts = _Family(
            Counter(
                "aaa_accepts_total", "Accepted authentications", ["protocol"], registry=registry
            )
        )
        self.rejects = _Family(
            Counter(
                "aaa_rejects_total",
                "Rejected authentications and authorizations by error code",
                ["protocol", "code"],
                registry=registry,
            )
        )
        self.challenges = _Family(
            Counter(
                "aaa_challenges_total",
                "One-time-code challenges sent",
                ["protocol"],
                registry=registry,
            )
        )
        self.cache_answers = _Family(
            Counter(
                "aaa_auth_cache_answers_total",
                "Authentications answered from the auth cache (fresh or stale during an outage)",
                ["protocol", "kind"],
                registry=registry,
            )
        )
        self.latency = _Family(
            Histogram(
                "aaa_latency_seconds",
                "Time to decide one AAA request",
                ["protocol", "kind"],
                buckets=_BUCKETS,
                registry=registry,
            )
        )
        self.dropped = _Family(
            Counter(
                "aaa_dropped_packets_total",
                "Packets dropped without an answer (unknown client, bad authenticator, malformed)",
                ["protocol", "reason"],
                registry=registry,
            )
        )
