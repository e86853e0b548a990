"""Settings for service tokens, the bootstrap token, the failure limiter and audit (``AUTHGATE_*``).

Environment variables are strings, so list settings accept ``a,b c`` as well as JSON lists,
and the bootstrap expiry accepts ISO 8601 or epoch seconds. Invalid values fail at start with
a :class:`~authgate.errors.ConfigError` naming the variable, never later on a request.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from authgate.errors import ConfigError
from authgate.service_tokens.format import BOOTSTRAP_PREFIX
from authgate.settings import split_list

__all__ = [
    "ADMIN_SCOPES",
    "TokenSettings",
    "async_database_url",
    "default_data_dir",
    "parse_duration",
    "parse_timestamp",
]

ADMIN_SCOPES = ("admin:tokens:read", "admin:tokens:write", "admin:audit:read")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
StrList = Annotated[list[str], NoDecode]


def default_data_dir() -> Path:
    """The per-user data directory (XDG on Linux, the platform's usual place elsewhere)."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "authgate"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "authgate"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "authgate"


def parse_duration(text: str) -> float:
    """Seconds from ``3600``, ``90s``, ``15m``, ``12h``, ``30d`` or ``2w``; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration; use e.g. 3600, 90s, 15m, 12h, 30d, 2w")
    return float(match.group(1)) * _UNIT[match.group(2)]


def parse_timestamp(value: str | float) -> float:
    """Epoch seconds from a number or an ISO 8601 string (no zone means UTC)."""
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{text!r} is neither ISO 8601 nor epoch seconds") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def async_database_url(url: str) -> str:
    """Pick the async driver: ``postgresql://`` → asyncpg, ``sqlite://`` → aiosqlite."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"{url!r} is not a database URL")
    if scheme in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        return f"postgresql+asyncpg://{rest}"
    if scheme == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if scheme in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        return url
    raise ValueError(f"unsupported database scheme {scheme!r}; use postgresql:// or sqlite://")


class TokenSettings(BaseSettings):
    """Token store, bootstrap token, failure limiter and audit sinks, from ``AUTHGATE_*``."""

    model_config = SettingsConfigDict(env_prefix="AUTHGATE_", extra="ignore")

    token_store_url: str | None = Field(None, description="postgresql://… or sqlite:///…")
    token_store_path: Path = Field(
        default_factory=lambda: default_data_dir() / "tokens.db",
        description="SQLite file used when no token_store_url is set.",
    )
    redis_url: str | None = Field(None, description="Revocation fan-out and shared limiter.")
    token_cache_size: int = Field(10_000, ge=0, description="Verdict cache entries; 0 = off.")
    token_recheck_interval: float | None = Field(
        None, gt=0, description="Max age of a cached verdict; default 1 s, 30 s with Redis."
    )
    token_last_used_flush: float = Field(30.0, gt=0, description="Seconds between writes.")
    bootstrap_token: SecretStr | None = None
    bootstrap_token_scopes: StrList = Field(default_factory=lambda: list(ADMIN_SCOPES))
    bootstrap_token_expires_at: float | None = None
    limiter_backend: Literal["memory", "redis"] = "memory"
    limiter_ip_limit: int = Field(30, ge=0, description="Failures per IP per interval; 0 = off.")
    limiter_identity_limit: int = Field(10, ge=0, description="Failures per identity; 0 = off.")
    limiter_interval: float = Field(60.0, ge=0, description="Sliding window seconds; 0 = off.")
    trusted_proxies: StrList = Field(default_factory=list, description="Proxy CIDRs.")
    client_ip_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    audit_sink: Literal["json", "sql", "both"] = "json"
    audit_queue_size: int = Field(10_000, gt=0)
    audit_json_path: Path | None = Field(None, description="Also append JSON lines here.")

    _lists = field_validator("bootstrap_token_scopes", "trusted_proxies", mode="before")(
        staticmethod(split_list)
    )

    @field_validator("bootstrap_token_expires_at", mode="before")
    @classmethod
    def _expiry(cls, value: Any) -> Any:
        return None if value in (None, "") else parse_timestamp(value)

    @field_validator("bootstrap_token")
    @classmethod
    def _bootstrap_form(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            raw = value.get_secret_value()
            if not raw.startswith(BOOTSTRAP_PREFIX) or len(raw) < len(BOOTSTRAP_PREFIX) + 32:
                raise ValueError(
                    "must be 'agb_' followed by at least 32 random characters; generate one "
                    "with `authgate tokens new-bootstrap`"
                )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("token_store_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if not value else async_database_url(value)

    @classmethod
    def load(cls, **overrides: Any) -> TokenSettings:
        """Read the environment; turn validation errors into a ConfigError naming the variable."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = "AUTHGATE_" + str(err["loc"][0]).upper() if err["loc"] else "AUTHGATE_*"
            raise ConfigError(name, err["msg"]) from None

    def database_url(self) -> str:
        """The async SQLAlchemy URL of the token store (and of the SQL audit sink)."""
        if self.token_store_url:
            return self.token_store_url
        return f"sqlite+aiosqlite:///{self.token_store_path}"

    def recheck_interval(self) -> float:
        if self.token_recheck_interval is not None:
            return self.token_recheck_interval
        return 30.0 if self.redis_url else 1.0
