"""Build :class:`~authgate.gateway.app.GatewayComponents` from settings (``authgate serve``).

Three settings groups meet here: the issuers (``AuthgateSettings``), the token store / limiter /
audit (``TokenSettings``) and the gateway itself (``GatewaySettings``). Construction is
synchronous and does no I/O; everything that connects (schema migration on SQLite, key warm-up,
revocation feed, policy watch) runs as a startup hook, and every resource has a shutdown hook,
so a failed start and a clean stop release the same things.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp

from authgate.authn.base import Authenticator
from authgate.authn.bootstrap import BootstrapAuthenticator
from authgate.authn.chain import AuthenticatorChain
from authgate.authn.jwt import JWTAuthenticator
from authgate.authn.service_token import ServiceTokenAuthenticator
from authgate.clock import Clock, system_clock
from authgate.gateway.app import GatewayComponents, ReadyCheck
from authgate.gateway.dpop_replay import RedisReplayCache
from authgate.gateway.exchange import UpstreamTokenExchange
from authgate.gateway.identity import IdentityAssertion, IdentityHeaders
from authgate.gateway.metrics import GatewayMetrics
from authgate.gateway.settings import IDENTITY_FIELDS, GatewaySettings
from authgate.jose.dpop import DPoPVerifier, MemoryReplayCache, ReplayCache
from authgate.limits.base import FailureLimiter, LimitConfig
from authgate.limits.memory import MemoryFailureLimiter
from authgate.observability.audit import build_audit_log
from authgate.policy.reload import PolicyHolder, PolicyWatcher
from authgate.policy.rules import Policy
from authgate.service_tokens.admin import TokenAdmin
from authgate.service_tokens.revocation import RevocationFeed
from authgate.service_tokens.settings import TokenSettings
from authgate.service_tokens.store import TokenStore
from authgate.settings import AuthgateSettings
from authgate.verifier import TokenVerifier
from authgate.verifier_builder import build_verifier

__all__ = ["build_components"]

_log = logging.getLogger("authgate.gateway")


def _limiter(tokens: TokenSettings, clock: Clock) -> FailureLimiter:
    config = LimitConfig(
        tokens.limiter_ip_limit, tokens.limiter_identity_limit, tokens.limiter_interval
    )
    if tokens.limiter_backend == "redis" and tokens.redis_url:
        from authgate.limits.redis import RedisFailureLimiter

        return RedisFailureLimiter(config, tokens.redis_url, clock=clock)
    return MemoryFailureLimiter(config, clock=clock)


def _replay(gw: GatewaySettings, clock: Clock) -> ReplayCache:
    if gw.dpop_replay == "redis":
        if not gw.redis_url:
            from authgate.errors import ConfigError

            raise ConfigError("AUTHGATE_GATEWAY_REDIS_URL", "dpop_replay=redis needs a Redis URL")
        return RedisReplayCache(gw.redis_url)
    return MemoryReplayCache(clock)


def _upstream(gw: GatewaySettings) -> ASGIApp | None:
    if gw.upstream is None:
        return None
    # Imported here: forward-auth-only deployments never load the data path.
    from authgate.gateway.proxy import ReverseProxy

    return ReverseProxy(
        gw.upstream,
        read_timeout=gw.upstream_timeout,
        strip_headers=[gw.header_name(f).decode() for f in IDENTITY_FIELDS],
        trusted_proxies=gw.trusted_proxies,
    )


def _exchange(gw: GatewaySettings, metrics: GatewayMetrics, clock: Clock) -> UpstreamTokenExchange:
    from authgate.okta.metrics import metrics_for
    from authgate.okta.settings import build_token_client, build_transport, load_okta_settings

    okta = load_okta_settings()
    transport = build_transport(okta, clock=clock, metrics=metrics_for(metrics.registry))
    client = build_token_client(okta, clock=clock, transport=transport)
    audience = gw.exchange_audience or ""
    return UpstreamTokenExchange(client, audience=audience, scopes=gw.exchange_scopes)


def _ready_keys(verifier: TokenVerifier) -> ReadyCheck:
    async def keys() -> tuple[str, bool, str]:
        states = [cfg.keys.status() for cfg in verifier.issuers]
        missing = [s.source for s in states if not s.loaded]
        return "keys", not missing, "loaded" if not missing else f"not loaded: {missing}"

    return keys


def _ready_store(store: TokenStore) -> ReadyCheck:
    async def store_probe() -> tuple[str, bool, str]:
        await store.auth_record("readyz-probe")
        return "token_store", True, store.engine.dialect.name

    return store_probe


def build_components(
    gw: GatewaySettings,
    core: AuthgateSettings,
    tokens: TokenSettings,
    *,
    clock: Clock = system_clock,
    upstream: ASGIApp | None = None,
) -> GatewayComponents:
    """Everything ``create_app`` needs; ``upstream`` overrides the configured reverse proxy."""
    verifier = build_verifier(core, clock=clock)
    metrics = GatewayMetrics(verifier=lambda: verifier)
    replay = _replay(gw, clock)
    dpop = (
        DPoPVerifier(replay=replay, clock=clock, max_age=gw.dpop_max_age, leeway=gw.dpop_leeway)
        if gw.dpop
        else None
    )
    store = TokenStore.from_settings(tokens, clock=clock)
    feed = RevocationFeed(tokens.redis_url, recheck_interval=tokens.recheck_interval())
    chain: list[Authenticator] = [
        ServiceTokenAuthenticator(
            store, clock=clock, cache_size=tokens.token_cache_size, revocations=feed
        )
    ]
    bootstrap = BootstrapAuthenticator.from_settings(tokens, clock=clock)
    if bootstrap is not None:
        chain.append(bootstrap)
    chain.append(JWTAuthenticator(verifier, dpop=dpop))
    audit = build_audit_log(
        tokens.audit_sink,
        engine=store.engine,
        json_path=tokens.audit_json_path,
        clock=clock,
        max_queue=tokens.audit_queue_size,
        registry=metrics.registry,
    )
    if gw.policy_file is not None:
        holder = PolicyHolder.from_file(gw.policy_file)
    else:
        _log.warning("no policy file (AUTHGATE_GATEWAY_POLICY_FILE): every route is denied")
        holder = PolicyHolder(Policy([], source="<none>"))
    assertion = None
    if gw.identity_assertion:
        issuer = gw.public_url or f"http://{gw.listen}"
        options: dict[str, Any] = {
            "issuer": issuer,
            "audience": gw.assertion_audience,
            "ttl": gw.assertion_ttl,
            "clock": clock,
        }
        assertion = (
            IdentityAssertion.from_file(gw.assertion_key_file, **options)
            if gw.assertion_key_file
            else IdentityAssertion.generate(**options)
        )
    names = {field: gw.header_name(field) for field in IDENTITY_FIELDS}
    limiter = _limiter(tokens, clock)
    proxy = upstream if upstream is not None else _upstream(gw)
    components = GatewayComponents(
        settings=gw,
        authenticator=AuthenticatorChain(chain),
        holder=holder,
        metrics=metrics,
        identity=IdentityHeaders(names, assertion=assertion),
        limiter=limiter,
        audit=audit,
        assertion=assertion,
        exchange=_exchange(gw, metrics, clock) if gw.exchange_audience else None,
        admin=TokenAdmin(store, clock=clock, audit=audit, revocations=feed),
        upstream=proxy,
        ready_checks=(_ready_keys(verifier), _ready_store(store)),
        audit_successes=gw.audit_successes,
    )
    watcher = PolicyWatcher(holder) if gw.policy_file is not None else None

    async def start() -> None:
        if store.url.startswith("sqlite"):
            await store.migrate()
        await feed.start()
        for cfg in verifier.issuers:  # warm the keys so the first request does not wait
            try:
                await cfg.keys.aget(None)
            except Exception as exc:  # noqa: BLE001 - /readyz reports it; keep serving
                _log.warning("keys of %s not loaded at start: %s", cfg.issuer, exc)
        if watcher is not None:
            await watcher.start(watch=gw.policy_watch)

    async def stop() -> None:
        if watcher is not None:
            await watcher.stop()
        close = getattr(proxy, "aclose", None)
        if close is not None:
            await close()
        await audit.aclose()
        await feed.aclose()
        await limiter.aclose()
        await verifier.aclose()
        await store.aclose()
        if isinstance(replay, RedisReplayCache):
            await replay.aclose()

    components.startup.append(start)
    components.shutdown.append(stop)
    return components
