"""Dev IdP configuration (okta-wire.md §1-§6): servers, apps, users, groups, tokens, rate limits.

Loaded from YAML or TOML; any string may reference the environment as ``${NAME}`` or
``${NAME:-default}`` so secrets stay out of checked-in files. ``IdPConfig.default()`` is the
built-in demo org (see :mod:`authgate.idp.demo_config`), usable with no file at all.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from authgate.errors import ConfigError
from authgate.idp import ids

__all__ = [
    "CC_GRANT",
    "EXCHANGE_GRANT",
    "OIDC_SCOPES",
    "ApiTokenConfig",
    "AppConfig",
    "ClaimConfig",
    "FactorConfig",
    "GroupConfig",
    "IdPConfig",
    "PolicyRule",
    "RateLimitConfig",
    "ScopeConfig",
    "ServerConfig",
    "UserConfig",
    "expand_env",
]

CC_GRANT = "client_credentials"
EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
OIDC_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access", "device_sso")
ORG_SERVER_ID = "org"

AuthMethod = Literal[
    "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"
]
AppType = Literal["service", "web", "native", "browser"]
UserStatus = Literal[
    "ACTIVE", "STAGED", "PROVISIONED", "RECOVERY", "LOCKED_OUT", "PASSWORD_EXPIRED", "SUSPENDED",
    "DEPROVISIONED",
]  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class ScopeConfig(_Model):
    """A custom scope; ``metadata_publish`` decides whether discovery lists it (okta-wire §1.2)."""

    name: str
    description: str = ""
    default: bool = False
    metadata_publish: Literal["ALL_CLIENTS", "NO_CLIENTS"] = "ALL_CLIENTS"
    consent: Literal["IMPLICIT", "REQUIRED"] = "IMPLICIT"


class ClaimConfig(_Model):
    """A custom claim (okta-wire §3.2): an expression, or the user's groups filtered by regex.

    ``value`` expressions: ``user.<attr>``, ``user.profile.<attr>``, ``app.<attr>`` or a literal;
    alternatives separated by ``||`` take the first that resolves (``user.role || app.role``).
    """

    name: str
    value: str = ""
    kind: Literal["expression", "groups"] = "expression"
    group_filter: str = ".*"
    access_token: bool = True
    id_token: bool = False
    scopes: list[str] = Field(default_factory=list)  # empty = on every token


class PolicyRule(_Model):
    """One access-policy rule: who (apps, groups), how (grants) and what (scopes); ``*`` = any."""

    name: str = "rule"
    clients: list[str] = Field(default_factory=lambda: ["*"])
    grants: list[str] = Field(default_factory=lambda: ["*"])
    scopes: list[str] = Field(default_factory=lambda: ["*"])
    groups: list[str] = Field(default_factory=lambda: ["*"])
    access_token_lifetime: int = Field(default=3600, ge=300, le=86400)
    refresh_token_lifetime: int | None = None  # None = unlimited (Okta's default)
    refresh_idle: int = Field(default=7 * 86400, ge=600)


class ServerConfig(_Model):
    """An authorization server: ``org`` (the org AS) or a custom one such as ``default``."""

    id: str
    name: str = ""
    description: str = ""
    audiences: list[str] = Field(default_factory=list)
    scopes: list[ScopeConfig] = Field(default_factory=list)
    claims: list[ClaimConfig] = Field(default_factory=list)
    policies: list[PolicyRule] = Field(default_factory=lambda: [PolicyRule()])
    trusted_servers: list[str] = Field(default_factory=list)
    key_rotation_days: int = Field(default=90, ge=1)
    id_token_lifetime: int = 3600

    @property
    def is_org(self) -> bool:
        return self.id == ORG_SERVER_ID


class AppConfig(_Model):
    """An OAuth client (Okta app); ``client_id`` defaults to a stable ``0oa…`` id from ``name``."""

    name: str
    client_id: str = ""
    type: AppType = "service"
    grants: list[str] = Field(default_factory=lambda: [CC_GRANT])
    auth_method: AuthMethod = "client_secret_basic"
    client_secret: str | None = None
    jwks: dict[str, Any] | None = None
    generate_key: bool = (
        False  # make a test-only RSA key at start (private half via the Python API)
    )
    redirect_uris: list[str] = Field(default_factory=list)
    dpop_bound_access_tokens: bool = False
    password_grant: bool = False
    token_exchange: bool = False
    okta_scopes: list[str] = Field(default_factory=list)  # granted okta.* scopes (org AS)
    role: str | None = None
    refresh_rotation: Literal["STATIC", "ROTATE"] = "STATIC"
    refresh_leeway: int = Field(default=30, ge=0, le=60)
    status: Literal["ACTIVE", "INACTIVE"] = "ACTIVE"

    @model_validator(mode="after")
    def _fill(self) -> AppConfig:
        if not self.client_id:
            self.client_id = ids.stable_id(ids.APP, self.name)
        # The flags and the grant list say the same thing; keep them in step either way round.
        for flag, grant in (("password_grant", "password"), ("token_exchange", EXCHANGE_GRANT)):
            if getattr(self, flag) and grant not in self.grants:
                self.grants.append(grant)
            if grant in self.grants:
                setattr(self, flag, True)
        return self


class FactorConfig(_Model):
    """An enrolled MFA factor: TOTP (base32 ``secret``) or push (scripted ``answer``)."""

    id: str = ""
    type: Literal["token:software:totp", "push"]
    provider: Literal["OKTA", "GOOGLE"] = "OKTA"
    secret: str | None = None
    answer: Literal["approve", "reject", "timeout"] = "approve"


class UserConfig(_Model):
    """A user; ``groups`` names groups; ``role`` feeds ``user.role`` claim expressions."""

    id: str = ""
    login: str
    password: str
    status: UserStatus = "ACTIVE"
    profile: dict[str, Any] = Field(default_factory=dict)
    groups: list[str] = Field(default_factory=list)
    mfa: list[FactorConfig] = Field(default_factory=list)
    role: str | None = None

    @model_validator(mode="after")
    def _fill(self) -> UserConfig:
        if not self.id:
            self.id = ids.stable_id(ids.USER, self.login)
        self.profile.setdefault("login", self.login)
        self.profile.setdefault("email", self.login)
        for index, factor in enumerate(self.mfa):
            if not factor.id:
                factor.id = ids.stable_id("uft", f"{self.login}:{index}")
        return self


class GroupConfig(_Model):
    """A group (okta-wire §5.3); ``BUILT_IN`` groups such as Everyone hold every user."""

    id: str = ""
    name: str
    description: str = ""
    type: Literal["OKTA_GROUP", "APP_GROUP", "BUILT_IN"] = "OKTA_GROUP"

    @model_validator(mode="after")
    def _fill(self) -> GroupConfig:
        if not self.id:
            self.id = ids.stable_id(ids.GROUP, self.name)
        return self


class ApiTokenConfig(_Model):
    """An SSWS API token acting with the privileges of ``user`` (a login)."""

    name: str
    value: str
    user: str | None = None


class RateLimitConfig(_Model):
    """A rate-limit bucket (okta-wire §5.5): path prefix, requests per minute, concurrency."""

    family: str
    path_prefix: str
    per_minute: int = Field(default=600, ge=1)
    concurrency: int = Field(default=75, ge=1)


class IdPConfig(_Model):
    """The whole dev org. ``org_url`` None = the URL it is served on (the usual case)."""

    org_url: str | None = None
    org_id: str = Field(default_factory=lambda: ids.stable_id(ids.ORG, "authgate-dev"))
    admin_token: str = "dev-admin-token"
    servers: list[ServerConfig] = Field(default_factory=list)
    apps: list[AppConfig] = Field(default_factory=list)
    users: list[UserConfig] = Field(default_factory=list)
    groups: list[GroupConfig] = Field(default_factory=list)
    api_tokens: list[ApiTokenConfig] = Field(default_factory=list)
    rate_limits: list[RateLimitConfig] = Field(default_factory=list)
    max_body_bytes: int = 64 * 1024

    @model_validator(mode="after")
    def _check(self) -> IdPConfig:
        if not any(server.is_org for server in self.servers):
            self.servers.insert(0, ServerConfig(id=ORG_SERVER_ID, name="Org Authorization Server"))
        for kind, names in (
            ("servers", [s.id for s in self.servers]),
            ("apps", [a.client_id for a in self.apps]),
            ("users", [u.login for u in self.users]),
            ("groups", [g.name for g in self.groups]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind}: {', '.join(dupes)}")
        known = {s.id for s in self.servers}
        for server in self.servers:
            missing = set(server.trusted_servers) - known
            if missing:
                raise ValueError(f"server {server.id}: unknown trusted_servers {sorted(missing)}")
        return self

    # -- look-ups ---------------------------------------------------------------------------
    def server(self, server_id: str) -> ServerConfig | None:
        return next((s for s in self.servers if s.id == server_id), None)

    def app(self, name_or_client_id: str) -> AppConfig | None:
        """An app by ``client_id`` or by ``name`` (``idp.config.app("demo-service")``)."""
        for app in self.apps:
            if name_or_client_id in (app.client_id, app.name):
                return app
        return None

    def user(self, login_or_id: str) -> UserConfig | None:
        """A user by login, id or login short name (the part before ``@``)."""
        for user in self.users:
            if login_or_id in (user.login, user.id, user.login.split("@")[0]):
                return user
        return None

    def group(self, name_or_id: str) -> GroupConfig | None:
        return next((g for g in self.groups if name_or_id in (g.name, g.id)), None)

    def user_groups(self, user: UserConfig) -> list[GroupConfig]:
        """The user's groups, built-in ones (Everyone) included, in config order."""
        return [g for g in self.groups if g.type == "BUILT_IN" or g.name in user.groups]

    # -- loading ----------------------------------------------------------------------------
    @classmethod
    def default(cls) -> IdPConfig:
        """The built-in demo org: no file needed (dev-only secrets, printed by ``authgate idp``)."""
        from authgate.idp.demo_config import DEMO  # local: keeps the big literal out of imports

        return cls.from_mapping(DEMO)

    @classmethod
    def from_mapping(cls, raw: dict[str, Any], *, source: str = "config") -> IdPConfig:
        try:
            return cls.model_validate(expand_env(raw))
        except ValidationError as exc:
            raise ConfigError(source, str(exc)) from exc
        except ValueError as exc:
            raise ConfigError(source, str(exc)) from exc

    @classmethod
    def load(cls, path: str | Path) -> IdPConfig:
        """Read a ``.yaml``/``.yml`` or ``.toml`` file; ``${ENV}`` references are expanded."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(str(file), f"cannot read: {exc.strerror}") from exc
        try:
            raw = tomllib.loads(text) if file.suffix == ".toml" else yaml.safe_load(text)
        except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(str(file), f"not valid {file.suffix.lstrip('.')}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(str(file), "top level must be a mapping")
        return cls.from_mapping(raw, source=str(file))


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(value: Any) -> Any:
    """Replace ``${NAME}`` / ``${NAME:-default}`` in every string; unset without default fails."""
    if isinstance(value, str):

        def _sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            found = os.environ.get(name)
            if found is not None:
                return found
            if default is not None:
                return default
            raise ValueError(f"environment variable {name} is not set (referenced as ${{{name}}})")

        return _ENV_REF.sub(_sub, value)
    if isinstance(value, dict):
        return {key: expand_env(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_env(item) for item in value]
    return value
