"""Settings of ``authgate aaa`` (RADIUS RFC 2865/2866, TACACS+ RFC 8907): a YAML/JSON file + env.

Shared secrets, the Okta API token and the auth-cache key are read from environment variables
named in the file (``secret_env``), so the file can live in git; an inline ``secret`` exists for
tests and labs. Invalid values fail at start with a :class:`~authgate.errors.ConfigError`.
Defaults deny: Message-Authenticator required, unencrypted TACACS+ refused, no group → reject.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from authgate.errors import ConfigError

__all__ = [
    "AAAConfig",
    "CacheSettings",
    "ClientSettings",
    "CommandRuleSettings",
    "LocalUserSettings",
    "MfaSettings",
    "OktaSettings",
    "RadiusSettings",
    "ReplyTemplates",
    "TacacsSettings",
    "load_config",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _secret(inline: SecretStr | None, env: str | None, setting: str) -> bytes:
    if env:
        value = os.environ.get(env)
        if not value:
            raise ConfigError(setting, f"environment variable {env} is not set")
        return value.encode()
    if inline is not None and inline.get_secret_value():
        return inline.get_secret_value().encode()
    raise ConfigError(setting, "set secret_env (preferred) or secret")


class ClientSettings(_Model):
    """A NAS (router, switch, firewall) or a range of them, matched by source address."""

    cidr: str
    secret: SecretStr | None = None
    secret_env: str | None = None
    name: str = ""
    # BlastRADIUS compat switch: only for old NAS firmware that cannot send Message-Authenticator.
    require_message_authenticator: bool = True

    @model_validator(mode="after")
    def _check(self) -> ClientSettings:
        ipaddress.ip_network(self.cidr, strict=False)
        if not self.secret_env and self.secret is None:
            raise ValueError("a client needs secret_env or secret")
        return self

    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr, strict=False)

    def secret_bytes(self) -> bytes:
        return _secret(self.secret, self.secret_env, f"client {self.cidr} secret")


class ReplyTemplates(_Model):
    """Attributes sent on accept (``{privilege}``, ``{username}`` and ``{groups}`` are filled in)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    cisco_avpairs: list[str] = Field(default_factory=lambda: ["shell:priv-lvl={privilege}"])
    class_: str | None = Field(default=None, alias="class")
    filter_id: str | None = None
    reply_message: str | None = None
    reject_message: str = "Authentication failed"
    challenge_message: str = "Enter one-time code: "


class RadiusSettings(_Model):
    enabled: bool = True
    host: str = "127.0.0.1"
    auth_port: int = 1812
    acct_port: int = 1813
    clients: list[ClientSettings] = Field(default_factory=list)
    duplicate_ttl: float = 10.0  # RFC 5080 §2.2.2: remember replies a few retransmits long
    max_inflight: int = 1024
    challenge_ttl: float = 120.0
    max_challenges: int = 10_000


class TacacsSettings(_Model):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 49
    clients: list[ClientSettings] = Field(default_factory=list)
    allow_unencrypted: bool = False
    single_connect: bool = True
    max_body: int = 65_536
    max_connections: int = 512
    max_sessions_per_connection: int = 32
    idle_timeout: float = 30.0
    service_attributes: list[str] = Field(default_factory=lambda: ["priv-lvl={privilege}"])


class CommandRuleSettings(_Model):
    pattern: str
    min_privilege: int = Field(default=0, ge=0, le=15)
    allow: bool = True


class LocalUserSettings(_Model):
    password_hash: str
    groups: list[str] = Field(default_factory=list)


class OktaSettings(_Model):
    org_url: str
    api_token: SecretStr | None = None
    api_token_env: str | None = "AUTHGATE_AAA_OKTA_API_TOKEN"
    method: Literal["authn", "password"] = "authn"
    auth_server: str = "default"
    client_id: str | None = None
    client_secret_env: str | None = None
    client_secret: SecretStr | None = None
    scope: str = "openid"
    login_suffix: str = ""  # "alice" from a device → "alice@example.com" at Okta
    timeout: float = 5.0
    group_ttl: float = 300.0
    group_negative_ttl: float = 30.0
    group_retry_max_wait: float = 2.0  # Retry-After longer than this: fail now, remember it
    circuit_threshold: int = Field(default=5, ge=1)
    circuit_cooldown: float = Field(default=30.0, gt=0)
    allow_insecure_http: bool = False

    def token(self) -> bytes:
        return _secret(self.api_token, self.api_token_env, "okta.api_token")

    @model_validator(mode="after")
    def _check(self) -> OktaSettings:
        if not self.org_url.startswith("https://") and not self.allow_insecure_http:
            raise ValueError("okta.org_url must be https:// (allow_insecure_http for a dev IdP)")
        if self.method == "password" and not self.client_id:
            raise ValueError("okta.method=password needs okta.client_id (an app with ROPC)")
        return self


class MfaSettings(_Model):
    otp_separator: str = ""  # "" = the last otp_length digits are the code ("secret123456")
    otp_length: int = Field(default=6, ge=4, le=10)
    push: bool = True
    push_timeout: float = 25.0  # stay inside the device's RADIUS/TACACS+ timeout
    push_poll_interval: float = 1.0


class CacheSettings(_Model):
    enabled: bool = True
    ttl: float = 300.0
    stale_ttl: float = 3600.0
    max_entries: int = 50_000
    key: SecretStr | None = None
    key_env: str | None = "AUTHGATE_AAA_CACHE_KEY"
    redis_url: str | None = None

    def key_bytes(self) -> bytes:
        return _secret(self.key, self.key_env, "cache.key")


BackendName = Literal["local", "okta"]


def _default_backends() -> list[BackendName]:
    return ["local", "okta"]


class AAAConfig(_Model):
    """The whole ``authgate aaa`` configuration file."""

    radius: RadiusSettings = Field(default_factory=RadiusSettings)
    tacacs: TacacsSettings = Field(default_factory=TacacsSettings)
    backends: list[BackendName] = Field(default_factory=_default_backends)
    local_users: dict[str, LocalUserSettings] = Field(default_factory=dict)
    okta: OktaSettings | None = None
    mfa: MfaSettings = Field(default_factory=lambda: MfaSettings())
    cache: CacheSettings = Field(default_factory=CacheSettings)
    group_privilege_map: dict[str, int] = Field(
        default_factory=lambda: {"Network-Admins": 15, "Operators": 7, "Users": 1}
    )
    default_privilege: int | None = Field(default=None, ge=0, le=15)
    require_group_for_auth: bool = True
    circuit_behaviour: Literal["reject", "cache"] = "reject"
    command_rules: list[CommandRuleSettings] = Field(
        default_factory=lambda: [
            CommandRuleSettings(pattern=".*", min_privilege=15),
            CommandRuleSettings(pattern="show .*", min_privilege=1),
        ]
    )
    replies: ReplyTemplates = Field(default_factory=lambda: ReplyTemplates())
    # Processes sharing the ports through SO_REUSEPORT (Linux). 1 by default: one process
    # answers a warm RADIUS request in ~30 µs of CPU, and each extra worker has its own memory
    # auth cache to warm (use cache.redis_url to share it) and its own metrics port.
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Server processes sharing the RADIUS/TACACS+ ports (SO_REUSEPORT); 1 is enough for most sites.",
    )

    @model_validator(mode="after")
    def _check(self) -> AAAConfig:
        if "okta" in self.backends and self.okta is None:
            raise ValueError("backends lists okta but there is no okta section")
        for group, level in self.group_privilege_map.items():
            if not 0 <= level <= 15:
                raise ValueError(f"group_privilege_map[{group!r}] must be 0..15")
        return self


def load_config(path: Path | None = None, data: dict[str, Any] | None = None) -> AAAConfig:
    """Read YAML (or JSON) from ``path``, or validate ``data``; errors name the setting."""
    if data is None:
        if path is None:
            raise ConfigError("config", "give a file (--config FILE)")
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("config", f"cannot read {path}: {exc.strerror}") from exc
        loaded = orjson.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        data = loaded if isinstance(loaded, dict) else {}
    try:
        return AAAConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise ConfigError(where, first["msg"]) from exc
