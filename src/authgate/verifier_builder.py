"""Build a :class:`~authgate.verifier.TokenVerifier` from settings (key sources per issuer).

Key source per issuer, first that applies: inline ``jwks`` → ``jwks_file`` (JWKS JSON or PEM) →
``hs_secret_env`` (HS secret read from the named env var, never from the file) → ``jwks_uri`` →
discovery (``discovery_url`` or the issuer's ``/.well-known`` documents, RFC 8414 §3).
"""

from __future__ import annotations

import os

import httpx

from authgate.clock import Clock, system_clock
from authgate.errors import ConfigError
from authgate.jose.algorithms import SUPPORTED
from authgate.jose.discovery import DiscoveredJWKS
from authgate.jose.jwks import JWKSOptions, RemoteJWKS
from authgate.jose.key_source import KeySource, StaticKeys
from authgate.jose.keys import KeyImportError, KeySet, VerificationKey
from authgate.jose.verdict_cache import VerdictCache
from authgate.principal import ClaimMapping
from authgate.settings import AuthgateSettings, IssuerSettings
from authgate.verifier import IssuerConfig, TokenVerifier

__all__ = ["build_issuer", "build_key_source", "build_verifier"]


def build_key_source(
    cfg: IssuerSettings,
    *,
    clock: Clock = system_clock,
    transport: httpx.BaseTransport | None = None,
    async_transport: httpx.AsyncBaseTransport | None = None,
) -> KeySource:
    """The key source an issuer's settings describe; errors name the setting."""
    where = f"issuers[{cfg.issuer}]"
    try:
        if cfg.jwks is not None:
            keys = KeySet.from_jwks(cfg.jwks)
            if any(k.kty == "oct" for k in keys.keys):
                # A shared secret in a config file: use hs_secret_env so it lives in the env.
                raise ConfigError(
                    f"{where}.jwks", "holds an 'oct' (HMAC) secret; use hs_secret_env instead"
                )
            return StaticKeys(keys, description=f"{where}.jwks (inline)")
        if cfg.jwks_file is not None:
            return StaticKeys.from_file(cfg.jwks_file)
        if cfg.hs_secret_env:
            secret = os.environ.get(cfg.hs_secret_env)
            if not secret:
                raise ConfigError(
                    f"{where}.hs_secret_env", f"env var {cfg.hs_secret_env} is not set or empty"
                )
            key = VerificationKey.from_secret(secret.encode())
            return StaticKeys(KeySet((key,)), description=f"HS secret from ${cfg.hs_secret_env}")
    except KeyImportError as exc:
        raise ConfigError(f"{where} keys", str(exc)) from None
    options = JWKSOptions(
        min_ttl=cfg.jwks_min_ttl,
        max_ttl=cfg.jwks_max_ttl,
        default_ttl=cfg.jwks_cache_ttl,
        cooldown=cfg.jwks_cooldown,
        max_stale=cfg.jwks_max_stale,
        timeout=cfg.jwks_timeout,
        allow_insecure_http=cfg.allow_insecure_http,
    )
    common = {"options": options, "clock": clock, "transport": transport}
    if cfg.jwks_uri:
        return RemoteJWKS(cfg.jwks_uri, async_transport=async_transport, **common)  # type: ignore[arg-type]
    return DiscoveredJWKS(
        cfg.issuer,
        discovery_url=cfg.discovery_url,
        async_transport=async_transport,
        **common,  # type: ignore[arg-type]
    )


def build_issuer(cfg: IssuerSettings, keys: KeySource) -> IssuerConfig:
    unknown = set(cfg.algorithms) - SUPPORTED
    if unknown:
        raise ConfigError(
            f"issuers[{cfg.issuer}].algorithms",
            f"unsupported {sorted(unknown)}; supported: {sorted(SUPPORTED)}",
        )
    return IssuerConfig(
        issuer=cfg.issuer,
        keys=keys,
        audiences=tuple(cfg.audiences),
        algorithms=frozenset(cfg.algorithms),
        leeway=cfg.leeway,
        max_age=cfg.max_age,
        require_exp=cfg.require_exp,
        accept_id_tokens=cfg.accept_id_tokens,
        allow_kidless_single_key=cfg.allow_kidless_single_key,
        required_scopes=tuple(cfg.required_scopes),
        skip_audience_check=cfg.skip_audience_check,
        claims=ClaimMapping(
            scope_claims=tuple(cfg.scope_claims),
            role_claims=tuple(cfg.role_claims),
            default_role=cfg.default_role,
            group_claims=tuple(cfg.group_claims),
            workspace_claims=tuple(cfg.workspace_claims),
            workspace_namespace=cfg.workspace_namespace,
        ),
    )


def build_verifier(
    settings: AuthgateSettings,
    *,
    clock: Clock = system_clock,
    transport: httpx.BaseTransport | None = None,
    async_transport: httpx.AsyncBaseTransport | None = None,
) -> TokenVerifier:
    """A verifier for every configured issuer (TOML ``[[issuers]]`` plus ``AUTHGATE_ISSUER``)."""
    issuers = settings.all_issuers()
    if not issuers:
        raise ConfigError(
            "AUTHGATE_ISSUER", "no issuer configured: set AUTHGATE_ISSUER or add [[issuers]]"
        )
    configs = [
        build_issuer(
            cfg,
            build_key_source(
                cfg, clock=clock, transport=transport, async_transport=async_transport
            ),
        )
        for cfg in issuers
    ]
    cache = (
        VerdictCache(settings.verdict_cache_size, clock=clock)
        if settings.verdict_cache_size
        else None
    )
    return TokenVerifier(
        configs, max_token_size=settings.max_token_size, verdict_cache=cache, clock=clock
    )
