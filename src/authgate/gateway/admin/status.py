"""Dashboard status document (JSON): pills, live counters, denials, tokens, policy, AAA stats.

Everything is read at request time from what the gateway already keeps — the Prometheus
registry (requests by route/decision, JWKS age and failures per issuer), the policy holder, the
token admin, the Okta transport's breaker — plus one active probe: the IdP is "healthy" when its
discovery document and JWKS both answer 200 (RFC 8414 §3, RFC 7517 §5). The probe result is kept
for ``probe_ttl`` seconds so a room full of open dashboards does not hammer the IdP.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client import CollectorRegistry

from authgate.errors import AuthgateError
from authgate.gateway.admin.denials import ConsoleState
from authgate.principal import Principal

if TYPE_CHECKING:
    from authgate.gateway.app import GatewayComponents

__all__ = ["IdPProbe", "StatusCollector", "samples"]


def samples(registry: CollectorRegistry, name: str) -> list[tuple[dict[str, str], float]]:
    """``(labels, value)`` of every sample called ``name`` in ``registry``."""
    found: list[tuple[dict[str, str], float]] = []
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name == name:
                found.append((dict(sample.labels), float(sample.value)))
    return found


class IdPProbe:
    """Discovery then JWKS of one issuer, with a short-lived cached verdict."""

    def __init__(self, *, timeout: float = 2.0, probe_ttl: float = 1.0) -> None:
        self.timeout = timeout
        self.probe_ttl = probe_ttl
        self._cache: dict[str, tuple[float, bool, str]] = {}

    async def check(self, issuer: str, now: float) -> tuple[bool, str]:
        cached = self._cache.get(issuer)
        if cached is not None and now - cached[0] < self.probe_ttl:
            return cached[1], cached[2]
        ok, detail = await self._probe(issuer)
        self._cache[issuer] = (now, ok, detail)
        return ok, detail

    async def _probe(self, issuer: str) -> tuple[bool, str]:
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                meta = await http.get(url)
                if meta.status_code != 200:
                    return False, f"discovery answered {meta.status_code}"
                jwks_uri = meta.json().get("jwks_uri")
                if not isinstance(jwks_uri, str):
                    return False, "discovery has no jwks_uri"
                keys = await http.get(jwks_uri)
                if keys.status_code != 200 or not keys.json().get("keys"):
                    return False, f"JWKS answered {keys.status_code}"
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            return False, f"unreachable: {type(exc).__name__}"
        return True, "discovery and JWKS answer"


def _pill(label: str, state: str, detail: str) -> dict[str, str]:
    return {"label": label, "state": state, "detail": detail}


def _rule(rule: Any) -> dict[str, Any]:
    needs: list[str] = []
    if rule.public:
        needs.append("public")
    if rule.deny:
        needs.append("deny")
    needs += [f"scope {s}" for s in rule.scopes] + [f"role {r}" for r in rule.roles]
    if rule.any_scopes:
        needs.append("any scope of " + ", ".join(rule.any_scopes))
    if rule.any_roles:
        needs.append("any role of " + ", ".join(rule.any_roles))
    if rule.kinds:
        needs.append("kinds " + ", ".join(sorted(rule.kinds)))
    if rule.require_dpop:
        needs.append("DPoP")
    if rule.workspace_param:
        needs.append(f"workspace {{{rule.workspace_param}}}")
    if rule.min_privilege is not None:
        needs.append(f"privilege ≥ {rule.min_privilege}")
    methods = ",".join(sorted(rule.methods)) if rule.methods else "*"
    return {
        "name": rule.name,
        "methods": methods,
        "host": rule.host or "*",
        "path": rule.path,
        "needs": "; ".join(needs) or "authenticated",
    }


class StatusCollector:
    """Builds the status document for one gateway."""

    def __init__(self, components: GatewayComponents, state: ConsoleState) -> None:
        self.c = components
        self.state = state
        self.probe = IdPProbe()

    async def _idp_pills(self, now: float) -> list[dict[str, str]]:
        registry = self.c.metrics.registry
        issuers = sorted(
            {labels["issuer"] for labels, _ in samples(registry, "authgate_jwks_refreshes_total")}
        )
        if not issuers:
            return [_pill("IdP", "unknown", "no issuer configured")]
        results = await asyncio.gather(*(self.probe.check(i, now) for i in issuers))
        bad = [f"{i}: {d}" for i, (ok, d) in zip(issuers, results, strict=True) if not ok]
        if bad:
            return [_pill("IdP unreachable", "bad", "; ".join(bad))]
        return [_pill("IdP healthy", "ok", ", ".join(issuers))]

    def _keys_pill(self) -> dict[str, str]:
        ages = samples(self.c.metrics.registry, "authgate_jwks_age_seconds")
        if not ages:
            return _pill("Keys not loaded", "bad", "no JWKS loaded yet")
        oldest = max(value for _, value in ages)
        state = "ok" if oldest < 24 * 3600 else "warn"
        return _pill(f"Keys {oldest:.0f}s old", state, f"{len(ages)} issuer(s)")

    def _circuit_pill(self) -> dict[str, str]:
        open_ = [a for a in self.state.aaa if a.circuit_open()]
        exchange = self.c.exchange
        transport = getattr(getattr(exchange, "client", None), "transport", None)
        if transport is not None:
            breaker = transport.status().get("breaker", {})
            if isinstance(breaker, dict) and breaker.get("state") == "open":
                open_.append(transport)
        if open_:
            return _pill("Circuit Open", "bad", f"{len(open_)} upstream client(s) refusing")
        return _pill("Healthy", "ok", "circuit closed")

    def _counters(self) -> dict[str, Any]:
        rows = samples(self.c.metrics.registry, "authgate_gateway_requests_total")
        by_decision: dict[str, float] = {}
        for labels, value in rows:
            by_decision[labels["decision"]] = by_decision.get(labels["decision"], 0) + value
        ordered = sorted(rows, key=lambda row: (-row[1], row[0]["route"]))
        routes = [
            {"route": lb["route"], "decision": lb["decision"], "count": int(v)} for lb, v in ordered
        ]
        return {
            "total": int(sum(by_decision.values())),
            "by_decision": {k: int(v) for k, v in sorted(by_decision.items())},
            "routes": routes[:30],
        }

    def _aaa(self) -> list[dict[str, Any]]:
        table = []
        for service in self.state.aaa:
            registry = service.metrics.registry
            retries = samples(registry, "okta_retries_total") + samples(
                registry, "aaa_retries_429_total"
            )
            table.append(
                {
                    "circuit": "Circuit Open" if service.circuit_open() else "Healthy",
                    "retries_429_total": int(
                        sum(
                            v
                            for labels, v in retries
                            if "429" in ",".join(labels.values()) or not labels
                        )
                    ),
                    "requests_total": int(
                        sum(v for _, v in samples(registry, "aaa_requests_total"))
                    ),
                    "rejects_total": int(sum(v for _, v in samples(registry, "aaa_rejects_total"))),
                }
            )
        return table

    async def _tokens(self, who: Principal) -> list[dict[str, Any]] | str:
        if self.c.admin is None:
            return "no token store"
        try:
            records = await self.c.admin.list(actor=who.subject)
        except AuthgateError as error:
            return f"{error.code}: {error.detail}"
        now = self.state.denials.clock.time()
        return [r.to_dict(now) for r in records]

    async def collect(self, who: Principal) -> dict[str, Any]:
        clock = self.state.denials.clock
        pills = [*await self._idp_pills(clock.monotonic()), self._keys_pill(), self._circuit_pill()]
        policy = self.c.holder.current
        return {
            "pills": pills,
            "counters": self._counters(),
            "denials": self.state.denials.recent(),
            "tokens": await self._tokens(who),
            "policy": {"source": str(policy.source), "rules": [_rule(r) for r in policy.rules]},
            "aaa": self._aaa(),
            "viewer": who.subject,
        }
