"""Gateway settings: ``AUTHGATE_GATEWAY_*`` environment variables and the ``[gateway]`` TOML table.

Precedence: explicit arguments (CLI flags) > environment > ``[gateway]`` in the config file >
defaults. Trusted proxies default to loopback only, so forwarding headers (``X-Original-*``,
``X-Forwarded-*``, ``Forwarded``) are honoured from an nginx/Caddy on the same host and from
nobody else; widen it to your proxies' CIDRs, never to the world. Invalid values fail at start
with a :class:`~authgate.errors.ConfigError` naming the variable.
"""

from __future__ import annotations

import ipaddress
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from authgate.errors import ConfigError
from authgate.settings import split_list

__all__ = ["IDENTITY_FIELDS", "GatewaySettings", "load_gateway_settings"]

StrList = Annotated[list[str], NoDecode]
_config_file: ContextVar[Path | None] = ContextVar("authgate_gateway_config", default=None)
_HEADER = re.compile(r"[A-Za-z0-9-]{1,64}")

IDENTITY_FIELDS = (
    "subject",
    "kind",
    "client_id",
    "scopes",
    "roles",
    "workspaces",
    "token_id",
    "assertion",
    "upstream_authorization",
)


class GatewaySettings(BaseSettings):
    """Everything ``authgate serve`` can be told beyond the issuers and the token store."""

    model_config = SettingsConfigDict(
        env_prefix="AUTHGATE_GATEWAY_", extra="forbid", validate_default=True
    )

    listen: str = Field("127.0.0.1:8080", description="host:port to serve on.")
    upstream: str | None = Field(None, description="Upstream base URL for the reverse proxy.")
    upstream_timeout: float = Field(30.0, gt=0, description="Upstream read timeout (s).")
    policy_file: Path | None = Field(None, description="Route policy file (TOML or YAML).")
    policy_watch: bool = Field(True, description="Reload the policy when the file changes.")
    trusted_proxies: StrList = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="CIDRs whose forwarding headers are believed.",
    )
    client_ip_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    identity_headers: dict[str, str] = Field(
        default_factory=dict,
        description="Override identity header names, e.g. {subject = 'X-User'}.",
    )
    identity_assertion: bool = Field(False, description="Add a signed identity assertion JWT.")
    assertion_ttl: float = Field(60.0, gt=0, le=3600, description="Assertion lifetime (s).")
    assertion_audience: str | None = Field(None, description="`aud` of the identity assertion.")
    assertion_key_file: Path | None = Field(
        None, description="EC P-256 PEM key for assertions; default: generated at start."
    )
    public_url: str | None = Field(None, description="External URL: `iss` of assertions.")
    forward_token: bool = Field(False, description="Forward the caller's token upstream.")
    exchange_audience: str | None = Field(
        None, description="Exchange the caller's token for this audience (RFC 8693)."
    )
    exchange_scopes: StrList = Field(default_factory=list, description="Scopes to exchange for.")
    dpop: bool = Field(True, description="Accept DPoP-bound tokens (RFC 9449).")
    dpop_max_age: float = Field(300.0, gt=0, description="Oldest acceptable proof iat (s).")
    dpop_leeway: float = Field(5.0, ge=0, description="Proof iat leeway into the future (s).")
    dpop_replay: Literal["memory", "redis"] = Field("memory", description="jti replay cache.")
    redis_url: str | None = Field(None, description="Redis for DPoP replay across instances.")
    workers: int = Field(1, ge=1, le=64, description="Worker processes.")
    access_log: bool = Field(True, description="One JSON access-log line per request.")
    audit_successes: bool = Field(
        False,
        description="Also audit every allowed request (failures always are; the access log "
        "already records each success with subject and token fingerprint).",
    )
    realm: str = Field("authgate", description="WWW-Authenticate realm.")
    admin_scopes: StrList = Field(
        default_factory=lambda: ["admin:tokens:read", "admin:tokens:write"],
        description="Any one of these lets a caller reach /__authgate/api/.",
    )
    shutdown_timeout: float = Field(30.0, ge=0, description="Drain in-flight requests (s).")
    websocket_query_token: bool = Field(
        False, description="Accept ?access_token= on WebSocket handshakes."
    )

    _lists = field_validator("trusted_proxies", "exchange_scopes", "admin_scopes", mode="before")(
        staticmethod(split_list)
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("identity_headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for field, name in value.items():
            if field not in IDENTITY_FIELDS:
                raise ValueError(f"unknown identity field {field!r}; use {list(IDENTITY_FIELDS)}")
            if not _HEADER.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid header name")
        return value

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not host:port")
        return value

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must be an http:// or https:// URL")
        return value

    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)

    def header_name(self, field: str) -> bytes:
        """The lower-case header name carrying identity ``field``."""
        default = "x-authgate-" + field.replace("_", "-")
        return self.identity_headers.get(field, default).lower().encode("latin-1")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_file.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(
                TomlConfigSettingsSource(
                    settings_cls, toml_file=path, toml_table_header=("gateway",)
                )
            )
        return tuple(sources)


def load_gateway_settings(
    config_file: str | Path | None = None, **overrides: Any
) -> GatewaySettings:
    """Settings from flags (``overrides``; None values ignored), env and ``[gateway]``."""
    given = {k: v for k, v in overrides.items() if v is not None}
    path = Path(config_file) if config_file else None
    if path is not None and not path.is_file():
        raise ConfigError("--config", f"config file {str(path)!r} does not exist")
    token = _config_file.set(path)
    try:
        return GatewaySettings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "gateway"
        raise ConfigError(f"AUTHGATE_GATEWAY_{name.upper()}", first["msg"]) from None
    except ValueError as exc:
        raise ConfigError(str(path or "environment"), str(exc)) from None
    finally:
        _config_file.reset(token)
