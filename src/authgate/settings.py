"""Settings: ``AUTHGATE_*`` environment variables and a TOML file, validated at start.

Precedence: explicit arguments > environment > TOML file (``AUTHGATE_CONFIG`` or ``--config``) >
defaults. One issuer can be configured from the environment alone (``AUTHGATE_ISSUER``,
``AUTHGATE_AUDIENCES=api://default,api://other``, ...); several issuers — Okta's org and custom
authorization servers side by side — go in the TOML file as ``[[issuers]]`` tables. An invalid
value fails at start with a :class:`~authgate.errors.ConfigError` naming the setting.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from authgate.errors import ConfigError

__all__ = ["AuthgateSettings", "IssuerSettings", "StrList", "load_settings", "split_list"]

_SPLIT = re.compile(r"[\s,]+")
StrList = Annotated[list[str], NoDecode]
_config_file: ContextVar[Path | None] = ContextVar("authgate_config_file", default=None)


def split_list(value: Any) -> Any:
    """Accept ``a,b c`` strings (or a JSON list) where lists are expected: env vars are strings.

    Shared by every component's settings model, so all ``AUTHGATE_*`` lists read the same way.
    """
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            import orjson  # JSON list form, e.g. AUTHGATE_AUDIENCES='["a","b"]'

            return orjson.loads(stripped)
        return [p for p in _SPLIT.split(stripped) if p]
    return value


class IssuerFields(BaseModel):
    """Everything that can be said about one accepted issuer (shared by file and env forms)."""

    model_config = ConfigDict(extra="forbid")

    audiences: StrList = Field(
        default_factory=list, description="Accepted `aud` values (any match); required."
    )
    skip_audience_check: bool = Field(
        False, description="Accept any `aud` of this issuer (explicit opt-out; not recommended)."
    )
    discovery_url: str | None = Field(None, description="Explicit discovery document URL.")
    jwks_uri: str | None = Field(None, description="JWKS URL; skips discovery.")
    jwks_file: Path | None = Field(None, description="Static JWKS (JSON) or PEM public key file.")
    jwks: dict[str, Any] | None = Field(None, description="Inline static JWKS.")
    hs_secret_env: str | None = Field(
        None, description="Name of the env var holding an HS256/384/512 secret (>= 32 bytes)."
    )
    algorithms: StrList = Field(default_factory=lambda: ["RS256"], description="Allowed `alg`s.")
    leeway: float = Field(60.0, ge=0, le=600, description="Clock leeway for exp/nbf/iat (s).")
    max_age: float | None = Field(None, gt=0, description="Reject tokens older than this (s).")
    require_exp: bool = Field(True, description="Reject tokens without `exp`.")
    accept_id_tokens: bool = Field(False, description="Accept OIDC ID tokens as bearer tokens.")
    allow_kidless_single_key: bool = Field(
        True, description="A token without `kid` may use the key set's only key."
    )
    required_scopes: StrList = Field(default_factory=list, description="Scopes every token needs.")
    scope_claims: StrList = Field(
        default_factory=lambda: ["scp", "scope", "scopes"], description="Claims read for scopes."
    )
    role_claims: StrList = Field(
        default_factory=lambda: ["role", "roles"], description="Claims read for roles."
    )
    default_role: str | None = Field(None, description="Role given when the token has none.")
    group_claims: StrList = Field(default_factory=lambda: ["groups"], description="Group claims.")
    workspace_claims: StrList = Field(
        default_factory=lambda: ["workspace_ids", "workspaces", "workspace_id", "workspace"],
        description="Claims read for workspaces.",
    )
    workspace_namespace: str | None = Field(
        None, description="Object claim under which workspace claims may also appear."
    )
    jwks_cache_ttl: float = Field(300.0, gt=0, description="JWKS TTL without Cache-Control (s).")
    jwks_min_ttl: float = Field(60.0, ge=0, description="Lower bound on the JWKS TTL (s).")
    jwks_max_ttl: float = Field(86400.0, gt=0, description="Upper bound on the JWKS TTL (s).")
    jwks_cooldown: float = Field(
        30.0, ge=0, description="Min seconds between unknown-kid refetches."
    )
    jwks_max_stale: float = Field(86400.0, ge=0, description="Serve last good keys this long (s).")
    jwks_timeout: float = Field(5.0, gt=0, description="JWKS/discovery fetch timeout (s).")
    allow_insecure_http: bool = Field(
        False, description="Dev only: allow http:// key URLs to non-loopback hosts."
    )

    _split_lists = field_validator(
        "audiences",
        "algorithms",
        "required_scopes",
        "scope_claims",
        "role_claims",
        "group_claims",
        "workspace_claims",
        mode="before",
    )(split_list)


class IssuerSettings(IssuerFields):
    """One ``[[issuers]]`` table in the TOML file."""

    issuer: str = Field(description="Exact `iss` value accepted (no trailing-slash tolerance).")


class AuthgateSettings(IssuerFields, BaseSettings):
    """Top-level settings. The issuer fields here describe the single env-configured issuer."""

    model_config = SettingsConfigDict(
        env_prefix="AUTHGATE_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    issuer: str | None = Field(None, description="Single accepted issuer (env shortcut).")
    issuers: list[IssuerSettings] = Field(
        default_factory=list, description="Several issuers (TOML `[[issuers]]`)."
    )
    max_token_size: int = Field(16 * 1024, ge=512, le=1024 * 1024, description="Max token bytes.")
    verdict_cache_size: int = Field(10_000, ge=0, description="Verified tokens cached (0 = off).")
    auth_mode: Literal["disabled", "optional", "required"] = Field(
        "required", description="Integration mode: deny by default."
    )
    websocket_query_token: bool = Field(
        False, description="Accept `?access_token=`/`?token=` on WebSocket handshakes."
    )

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
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def all_issuers(self) -> list[IssuerSettings]:
        """The TOML issuers plus the env-configured one (if ``AUTHGATE_ISSUER`` is set)."""
        result = list(self.issuers)
        if self.issuer:
            if any(cfg.issuer == self.issuer for cfg in result):
                raise ConfigError(
                    "AUTHGATE_ISSUER",
                    f"{self.issuer!r} is also an [[issuers]] entry in the TOML file; keep one",
                )
            fields = self.model_dump(include=set(IssuerFields.model_fields))
            result.append(IssuerSettings(issuer=self.issuer, **fields))
        return result


def _setting_name(loc: tuple[int | str, ...]) -> str:
    if loc and loc[0] != "issuers":
        return f"AUTHGATE_{str(loc[0]).upper()} (TOML key {loc[0]!r})"
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")


# Tables other components read from the same file ([okta], [gateway], ...). Unknown top-level
# *values* are refused: `audience = "x"` instead of `audiences` must not silently mean "no check".
COMPONENT_SECTIONS = frozenset(
    {"okta", "gateway", "service_tokens", "tokens", "limits", "audit", "aaa", "policy", "doctor"}
)


def _check_top_level_keys(path: Path) -> None:
    import tomllib

    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read TOML: {exc}") from None
    known = set(AuthgateSettings.model_fields) | COMPONENT_SECTIONS
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        raise ConfigError(
            f"{path}: {unknown[0]}",
            f"unknown setting (known: {', '.join(sorted(AuthgateSettings.model_fields))})",
        )


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> AuthgateSettings:
    """Load settings, naming the offending setting on any error (never a bare traceback)."""
    path = Path(config_file) if config_file else None
    if path is None and os.environ.get("AUTHGATE_CONFIG"):
        path = Path(os.environ["AUTHGATE_CONFIG"])
    if path is not None and not path.is_file():
        raise ConfigError("AUTHGATE_CONFIG", f"config file {str(path)!r} does not exist")
    if path is not None:
        _check_top_level_keys(path)
    token = _config_file.set(path)
    try:
        return AuthgateSettings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(_setting_name(tuple(first["loc"])), first["msg"]) from None
    except ValueError as exc:  # e.g. TOML syntax error, JSON list syntax in an env var
        raise ConfigError(str(path or "environment"), str(exc)) from None
    finally:
        _config_file.reset(token)
