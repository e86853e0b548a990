"""Okta client settings: ``AUTHGATE_OKTA_*`` environment variables and the ``[okta]`` TOML table.

Precedence: explicit arguments (CLI flags) > environment > TOML file > defaults. Secrets — the
client secret and the SSWS API token — come only from the environment (or a key *file*): the TOML
file may not hold them and no flag takes them, so they never land in shell history or in a
checked-in config. :func:`build_token_client` and :func:`build_management_client` turn settings
into ready clients sharing one resilient transport.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import httpx
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from authgate.clock import Clock, system_clock
from authgate.errors import ConfigError
from authgate.okta.auth import ClientCredentialsAuth
from authgate.okta.client_assertion import load_signing_key
from authgate.okta.dpop import DPoPSigner
from authgate.okta.management import ManagementClient, SSWSAuth
from authgate.okta.metrics import OktaMetrics
from authgate.okta.resilience import RetryPolicy
from authgate.okta.token_cache import TokenCache, TokenStore
from authgate.okta.token_client import AuthMethod, OktaTokenClient
from authgate.okta.transport import ResilienceConfig, ResilientTransport, Sleeper

__all__ = [
    "OktaSettings",
    "build_management_client",
    "build_token_client",
    "build_transport",
    "load_okta_settings",
]

_SECRET_FIELDS = ("client_secret", "ssws_token")
StrList = Annotated[list[str], NoDecode]


class _OktaToml(TomlConfigSettingsSource):
    """The ``[okta]`` table; refuses secrets so they cannot be checked in."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        for name in _SECRET_FIELDS:
            if name in data:
                raise ConfigError(
                    f"[okta] {name}",
                    f"secrets are read from the environment only: set AUTHGATE_OKTA_{name.upper()}",
                )
        return data


class OktaSettings(BaseSettings):
    """Everything the Okta client can be told."""

    model_config = SettingsConfigDict(
        env_prefix="AUTHGATE_OKTA_", extra="ignore", validate_default=True
    )

    issuer: str | None = Field(
        None, description="Authorization server issuer (org URL or .../oauth2/{id})."
    )
    discovery_url: str | None = Field(None, description="Explicit metadata URL.")
    token_endpoint: str | None = Field(
        None, description="Explicit token endpoint (skips discovery)."
    )
    client_id: str | None = Field(None, description="OAuth client id (0oa...).")
    client_secret: SecretStr | None = Field(None, description="Client secret (environment only).")
    private_key_file: Path | None = Field(None, description="PEM or JWK file of the client key.")
    private_key_env: str | None = Field(
        None, description="Name of an env var holding a PEM or JWK."
    )
    key_id: str | None = Field(None, description="kid of the client key, if Okta has several.")
    signing_alg: str | None = Field(None, description="RS256/ES256/...; default from the key.")
    auth_method: AuthMethod | None = Field(
        None, description="Default: private_key_jwt with a key, else client_secret_basic."
    )
    scopes: StrList = Field(default_factory=list, description="Scopes to request.")
    audience: str | None = Field(None, description="Token exchange audience.")
    dpop: bool = Field(
        False, description="Send DPoP proofs (needed when the Okta app requires DPoP)."
    )
    dpop_key_file: Path | None = Field(None, description="DPoP key (PEM/JWK); default: generated.")
    token_cache_buffer: float = Field(
        300.0, ge=0, description="Refresh this many seconds before expiry."
    )
    token_cache_max_ttl: float | None = Field(
        None, gt=0, description="Never cache a token longer (s)."
    )
    redis_url: str | None = Field(None, description="Share tokens between instances through Redis.")
    retries: int = Field(3, ge=0, le=10, description="Retries of a failed request.")
    backoff_base: float = Field(0.5, gt=0, description="First backoff (s), doubled per retry.")
    backoff_max: float = Field(30.0, gt=0, description="Longest backoff (s).")
    max_retry_wait: float = Field(
        60.0, ge=0, description="Do not retry when asked to wait longer (s)."
    )
    connect_timeout: float = Field(5.0, gt=0, description="Connect timeout (s).")
    read_timeout: float = Field(10.0, gt=0, description="Read timeout (s).")
    max_concurrency: int = Field(10, ge=1, description="Requests in flight to Okta at most.")
    breaker_threshold: int = Field(
        5, ge=1, description="Consecutive failures that open the circuit."
    )
    breaker_cooldown: float = Field(30.0, gt=0, description="Seconds the circuit stays open.")
    management_url: str | None = Field(None, description="Org URL for the Management API.")
    ssws_token: SecretStr | None = Field(None, description="SSWS API token (environment only).")
    ssws_token_env: str | None = Field(
        None, description="Name of another env var holding the SSWS token."
    )
    management_scopes: StrList = Field(
        default_factory=lambda: ["okta.users.read", "okta.groups.read"],
        description="okta.* scopes for OAuth access to the Management API.",
    )
    group_cache_ttl: float = Field(1800.0, gt=0, description="Group cache TTL (s).")
    group_negative_ttl: float = Field(60.0, ge=0, description="Failed look-ups remembered (s).")
    group_cache_size: int = Field(10_000, ge=1, description="Users kept in the group cache.")

    @field_validator("scopes", "management_scopes", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return value.replace(",", " ").split() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get("AUTHGATE_CONFIG")
        if path:
            sources.append(_OktaToml(settings_cls, toml_file=path, toml_table_header=("okta",)))
        return tuple(sources)

    def effective_auth_method(self) -> AuthMethod:
        if self.auth_method is not None:
            return self.auth_method
        has_key = self.private_key_file is not None or self.private_key_env is not None
        return "private_key_jwt" if has_key else "client_secret_basic"

    def api_token(self) -> str | None:
        if self.ssws_token is not None:
            return self.ssws_token.get_secret_value()
        if self.ssws_token_env:
            return os.environ.get(self.ssws_token_env) or None
        return None

    def resilience(self) -> ResilienceConfig:
        retry = RetryPolicy(self.retries, self.backoff_base, self.backoff_max, self.max_retry_wait)
        return ResilienceConfig(
            retry=retry,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_concurrency=self.max_concurrency,
            breaker_threshold=self.breaker_threshold,
            breaker_cooldown=self.breaker_cooldown,
        )


def load_okta_settings(config_file: str | Path | None = None, **overrides: Any) -> OktaSettings:
    """Settings from flags (``overrides``, None values ignored), env and the TOML file."""
    given = {k: v for k, v in overrides.items() if v is not None}
    previous = os.environ.get("AUTHGATE_CONFIG")
    if config_file is not None:
        if not Path(config_file).is_file():
            raise ConfigError("--config", f"config file {str(config_file)!r} does not exist")
        os.environ["AUTHGATE_CONFIG"] = str(config_file)
    try:
        return OktaSettings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "okta"
        raise ConfigError(f"AUTHGATE_OKTA_{name.upper()}", first["msg"]) from None
    finally:
        if config_file is not None:
            if previous is None:
                os.environ.pop("AUTHGATE_CONFIG", None)
            else:
                os.environ["AUTHGATE_CONFIG"] = previous


def build_transport(
    settings: OktaSettings,
    *,
    clock: Clock = system_clock,
    sleeper: Sleeper | None = None,
    metrics: OktaMetrics | None = None,
    name: str = "okta",
) -> ResilientTransport:
    return ResilientTransport(
        config=settings.resilience(), clock=clock, sleeper=sleeper, metrics=metrics, name=name
    )


def build_token_client(
    settings: OktaSettings,
    *,
    clock: Clock = system_clock,
    transport: ResilientTransport | None = None,
    store: TokenStore | None = None,
    issuer: str | None = None,
) -> OktaTokenClient:
    """A token client for the configured issuer and app (the ``issuer`` argument overrides)."""
    issuer = issuer or settings.issuer
    if not issuer:
        raise ConfigError("AUTHGATE_OKTA_ISSUER", "no issuer configured")
    if not settings.client_id:
        raise ConfigError("AUTHGATE_OKTA_CLIENT_ID", "no client id configured")
    method = settings.effective_auth_method()
    key = None
    if method == "private_key_jwt":
        key = load_signing_key(
            pem_file=settings.private_key_file,
            pem_env=settings.private_key_env if settings.private_key_file is None else None,
            kid=settings.key_id,
            alg=settings.signing_alg,
        )
    dpop = None
    if settings.dpop:
        dpop = (
            DPoPSigner.from_file(settings.dpop_key_file, clock=clock)
            if settings.dpop_key_file
            else DPoPSigner.generate(clock=clock)
        )
    cache = TokenCache(
        buffer=settings.token_cache_buffer,
        max_ttl=settings.token_cache_max_ttl,
        clock=clock,
        store=store,
    )
    secret = settings.client_secret.get_secret_value() if settings.client_secret else None
    return OktaTokenClient(
        issuer=issuer,
        client_id=settings.client_id,
        auth_method=method,
        client_secret=secret,
        signing_key=key,
        token_endpoint=settings.token_endpoint,
        discovery_url=settings.discovery_url,
        dpop=dpop,
        transport=transport or build_transport(settings, clock=clock),
        cache=cache,
        clock=clock,
    )


def build_management_client(
    settings: OktaSettings,
    *,
    clock: Clock = system_clock,
    transport: ResilientTransport | None = None,
) -> ManagementClient:
    """Management API client: SSWS when an API token is in the environment, else OAuth through
    the org authorization server (``private_key_jwt``, ``management_scopes``, DPoP if enabled)."""
    org = (settings.management_url or settings.issuer or "").rstrip("/")
    if not org:
        raise ConfigError("AUTHGATE_OKTA_MANAGEMENT_URL", "no org URL configured")
    transport = transport or build_transport(settings, clock=clock, name="okta-management")
    token = settings.api_token()
    auth: httpx.Auth
    if token:
        auth = SSWSAuth(token)
    else:
        if "/oauth2/" in org:
            raise ConfigError(
                "AUTHGATE_OKTA_MANAGEMENT_URL",
                "must be the org URL (https://{domain}), not a custom AS",
            )
        client = build_token_client(settings, clock=clock, transport=transport, issuer=org)
        auth = ClientCredentialsAuth(client, settings.management_scopes)
    return ManagementClient(org, auth, transport=transport)
