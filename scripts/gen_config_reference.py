#!/usr/bin/env python3
"""Generate docs/reference/configuration.md from the settings models (issue #9).

Every ``AUTHGATE_*`` variable and config-file key, with its type, default and meaning, comes
from the pydantic models themselves — ``AuthgateSettings``, ``OktaSettings``,
``GatewaySettings``, ``TokenSettings`` and the ``authgate aaa`` file — so the page cannot drift:
``tests/docs/test_config_reference.py`` fails when the checked-in page differs from what this
script prints. Fields whose model carries no ``description`` take their meaning from
``MEANINGS`` below, and the test also fails when a new field has neither.

    python scripts/gen_config_reference.py          # rewrite the page
    python scripts/gen_config_reference.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import sys
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from authgate.aaa import config as aaa  # noqa: E402
from authgate.gateway.settings import GatewaySettings  # noqa: E402
from authgate.okta.settings import OktaSettings  # noqa: E402
from authgate.service_tokens.settings import TokenSettings  # noqa: E402
from authgate.settings import AuthgateSettings, IssuerFields  # noqa: E402

PAGE = ROOT / "docs" / "reference" / "configuration.md"

MEANINGS: dict[str, str] = {
    "GatewaySettings.client_ip_header": "Header naming the client address behind trusted proxies.",
    "TokenSettings.bootstrap_token": "One-time admin token (`agb_…`) to create the first real admin token; environment only.",
    "TokenSettings.bootstrap_token_scopes": "Scopes the bootstrap token grants.",
    "TokenSettings.bootstrap_token_expires_at": "Expiry of the bootstrap token (ISO 8601 or epoch seconds).",
    "TokenSettings.limiter_backend": "Failure limiter storage: per process, or shared through Redis.",
    "TokenSettings.client_ip_header": "Header naming the client address behind trusted proxies.",
    "TokenSettings.audit_sink": "Where audit events go: JSON lines, the SQL store, or both.",
    "TokenSettings.audit_queue_size": "Audit events buffered before new ones are dropped (and counted).",
    "RadiusSettings.enabled": "Serve RADIUS.",
    "RadiusSettings.host": "Address to listen on.",
    "RadiusSettings.auth_port": "Access-Request port (RFC 2865).",
    "RadiusSettings.acct_port": "Accounting port (RFC 2866).",
    "RadiusSettings.clients": "NAS allowed to talk to this server (list of client tables).",
    "RadiusSettings.duplicate_ttl": "Seconds a reply is remembered to answer retransmits (RFC 5080 §2.2.2).",
    "RadiusSettings.max_inflight": "Requests processed at once; more are dropped.",
    "RadiusSettings.challenge_ttl": "Seconds an Access-Challenge (OTP, push) stays answerable.",
    "RadiusSettings.max_challenges": "Open challenges kept at most.",
    "TacacsSettings.enabled": "Serve TACACS+.",
    "TacacsSettings.host": "Address to listen on.",
    "TacacsSettings.port": "TCP port (RFC 8907).",
    "TacacsSettings.clients": "Devices allowed to connect (list of client tables).",
    "TacacsSettings.allow_unencrypted": "Accept packets with the unencrypted flag (never in production).",
    "TacacsSettings.single_connect": "Allow several sessions on one connection.",
    "TacacsSettings.max_body": "Largest packet body accepted (bytes).",
    "TacacsSettings.max_connections": "Connections served at once.",
    "TacacsSettings.max_sessions_per_connection": "Sessions per single-connect connection.",
    "TacacsSettings.idle_timeout": "Seconds before an idle connection is closed.",
    "TacacsSettings.service_attributes": "Authorization reply attributes (`{privilege}` filled in).",
    "ClientSettings.cidr": "Source address or network of the device(s).",
    "ClientSettings.secret": "Shared secret inline (tests and labs only).",
    "ClientSettings.secret_env": "Name of the environment variable holding the shared secret.",
    "ClientSettings.name": "Label used in logs and audit events.",
    "ClientSettings.require_message_authenticator": "Require Message-Authenticator (BlastRADIUS defence); only for old firmware set false.",
    "AAAConfig.radius": "RADIUS server settings (keys below).",
    "AAAConfig.tacacs": "TACACS+ server settings (keys below).",
    "AAAConfig.okta": "Okta backend (keys below); required when backends lists okta.",
    "AAAConfig.mfa": "One-time codes and push (keys below).",
    "AAAConfig.cache": "Authentication cache (keys below).",
    "AAAConfig.replies": "Attributes sent on accept/reject (keys below).",
    "AAAConfig.backends": "Password backends, tried in order.",
    "AAAConfig.local_users": "Break-glass users by name (password hash and groups).",
    "AAAConfig.group_privilege_map": "Group name → privilege level 0-15; the highest match wins.",
    "AAAConfig.default_privilege": "Level for an authenticated user in no mapped group (unset = reject).",
    "AAAConfig.require_group_for_auth": "Reject users in no mapped group.",
    "AAAConfig.circuit_behaviour": "While Okta is unreachable: reject, or answer from the auth cache.",
    "AAAConfig.command_rules": "Command authorization rules (regex + minimum privilege), first match wins.",
    "LocalUserSettings.password_hash": "Hash from `authgate aaa hash-password`.",
    "LocalUserSettings.groups": "Groups of the local user (mapped to privilege).",
    "OktaSettings.org_url": "Okta org URL (https://{domain}).",
    "OktaSettings.api_token": "SSWS API token inline (tests only).",
    "OktaSettings.api_token_env": "Environment variable holding the SSWS API token (group look-ups).",
    "OktaSettings.method": "How passwords are checked: the Authentication API (MFA aware) or the password grant.",
    "OktaSettings.auth_server": "Authorization server id for the password grant.",
    "OktaSettings.client_id": "App for the password grant.",
    "OktaSettings.client_secret_env": "Environment variable holding that app's secret.",
    "OktaSettings.client_secret": "That app's secret inline (tests only).",
    "OktaSettings.scope": "Scopes requested with the password grant.",
    "OktaSettings.login_suffix": "Appended to a bare device username (`alice` → `alice@example.com`).",
    "OktaSettings.timeout": "Okta request timeout (s).",
    "OktaSettings.group_ttl": "Group membership cache TTL (s).",
    "OktaSettings.group_negative_ttl": "Failed group look-ups remembered (s).",
    "OktaSettings.group_retry_max_wait": "Longest Retry-After waited for on a group look-up (s).",
    "OktaSettings.circuit_threshold": "Consecutive failures that open the circuit.",
    "OktaSettings.circuit_cooldown": "Seconds the circuit stays open.",
    "OktaSettings.allow_insecure_http": "Allow an http:// org URL (dev IdP only).",
    "MfaSettings.otp_separator": "Separator between password and OTP; empty = the last otp_length digits.",
    "MfaSettings.otp_length": "Digits of an appended one-time code.",
    "MfaSettings.push": "Use Okta Verify push when no code is appended.",
    "MfaSettings.push_timeout": "Seconds to wait for a push answer (stay inside the device timeout).",
    "MfaSettings.push_poll_interval": "Seconds between push polls.",
    "CacheSettings.enabled": "Cache successful authentications (never OTP/push ones).",
    "CacheSettings.ttl": "Seconds a cached authentication is used.",
    "CacheSettings.stale_ttl": "Seconds a stale entry may answer while Okta is down (circuit_behaviour = cache).",
    "CacheSettings.max_entries": "Entries kept at most.",
    "CacheSettings.key": "HMAC key for cache entries inline (tests only).",
    "CacheSettings.key_env": "Environment variable holding the cache HMAC key.",
    "CacheSettings.redis_url": "Share the cache between instances through Redis.",
    "CommandRuleSettings.pattern": "Regular expression matched against the full command.",
    "CommandRuleSettings.min_privilege": "Privilege level the command needs.",
    "CommandRuleSettings.allow": "Permit (true) or deny (false) on match.",
    "ReplyTemplates.cisco_avpairs": "Cisco-AVPair values sent on accept.",
    "ReplyTemplates.class_": "RADIUS Class attribute.",
    "ReplyTemplates.filter_id": "RADIUS Filter-Id attribute.",
    "ReplyTemplates.reply_message": "Reply-Message on accept.",
    "ReplyTemplates.reject_message": "Reply-Message on reject.",
    "ReplyTemplates.challenge_message": "Prompt sent with an OTP challenge.",
}
DEFAULTS = {"TokenSettings.token_store_path": "`<per-user data dir>/authgate/tokens.db`"}
ENV_ONLY = {"OktaSettings.client_secret", "OktaSettings.ssws_token"}


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Annotated:
        return _type(args[0])
    if origin in (typing.Union, types.UnionType):
        inner = " or ".join(_type(a) for a in args)
        return inner + (" (optional)" if type(None) in typing.get_args(annotation) else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"table of {_type(args[1])}"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path"}
    if annotation in names:
        return names[annotation]
    if annotation is SecretStr:
        return "secret"
    if annotation is Any:
        return "any"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return getattr(annotation, "__name__", str(annotation))


def _default(key: str, info: FieldInfo) -> str:
    if key in DEFAULTS:
        return DEFAULTS[key]
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "required"
    else:
        value = info.default
    if value is None or value == [] or value == {}:
        return "—"
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, list):
        value = ", ".join(
            v.model_dump_json() if isinstance(v, BaseModel) else str(v) for v in value
        )
    if isinstance(value, dict):
        value = ", ".join(f"{k} = {v}" for k, v in value.items())
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        value = str(value).lower()
    return f"`{value}`"


def _meaning(key: str, info: FieldInfo) -> str:
    text = info.description or MEANINGS.get(key)
    if not text:
        raise SystemExit(f"{key} has no description: add one to MEANINGS in {__file__}")
    return text.replace("|", "\\|")


def missing_meanings() -> list[str]:
    """Fields with neither a description nor a MEANINGS entry (for the test)."""
    found = []
    for model in _models():
        for name, info in model.model_fields.items():
            key = f"{model.__name__}.{name}"
            if not info.description and key not in MEANINGS:
                found.append(key)
    return found


def _models() -> list[type[BaseModel]]:
    nested: list[type[BaseModel]] = [aaa.AAAConfig, aaa.RadiusSettings, aaa.TacacsSettings]
    nested += [aaa.ClientSettings]
    nested += [aaa.LocalUserSettings, aaa.OktaSettings, aaa.MfaSettings, aaa.CacheSettings]
    nested += [aaa.CommandRuleSettings, aaa.ReplyTemplates]
    return [AuthgateSettings, OktaSettings, GatewaySettings, TokenSettings, *nested]


def _env_table(model: type[BaseModel], env: str, toml: str | None, skip: set[str]) -> list[str]:
    rows = ["| environment | config file | type | default | meaning |", "|---|---|---|---|---|"]
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        key = f"{model.__name__}.{name}"
        file_key = "— (environment only)" if toml is None or key in ENV_ONLY else toml + name
        rows.append(
            f"| `{env}{name.upper()}` | {file_key if file_key.startswith('—') else f'`{file_key}`'}"
            f" | {_type(info.annotation)} | {_default(key, info)} | {_meaning(key, info)} |"
        )
    return rows


def _file_table(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    for name, info in model.model_fields.items():
        key = f"{model.__name__}.{name}"
        path = prefix + (info.alias or name)
        rows.append(
            f"| `{path}` | {_type(info.annotation)} | {_default(key, info)} | {_meaning(key, info)} |"
        )
    return rows


def render() -> str:
    issuer_keys = set(IssuerFields.model_fields) | {"issuer"}
    top = set(AuthgateSettings.model_fields) - set(IssuerFields.model_fields) - {"issuer"}
    out = [
        "# Configuration reference",
        "",
        "<!-- generated by scripts/gen_config_reference.py from the settings models; do not edit -->",
        "",
        "Precedence everywhere: command-line flags > environment > config file > defaults. The",
        "config file is TOML (`--config` or `AUTHGATE_CONFIG`); lists in the environment are",
        "comma- or space-separated (or a JSON list). Secrets are read from the environment only.",
        "Check a configuration live with `authgate doctor` ([operations](../operations.md)).",
        "",
        "## Issuers (verification: library, `serve`, `verify`)",
        "",
        "One issuer from the environment; several as `[[issuers]]` tables in the file, each with",
        "the keys below (the environment form configures the single issuer).",
        "",
        *_env_table(AuthgateSettings, "AUTHGATE_", "issuers[].", top),
        "",
        "Top-level keys of the file:",
        "",
        *_env_table(AuthgateSettings, "AUTHGATE_", "", issuer_keys),
        "",
        "## Okta client (`[okta]`)",
        "",
        *_env_table(OktaSettings, "AUTHGATE_OKTA_", "[okta] ", set()),
        "",
        "## Gateway (`[gateway]`)",
        "",
        *_env_table(GatewaySettings, "AUTHGATE_GATEWAY_", "[gateway] ", set()),
        "",
        "## Service tokens, bootstrap token, failure limiter, audit",
        "",
        *_env_table(TokenSettings, "AUTHGATE_", None, set()),
        "",
        "## `authgate aaa` file (YAML or JSON)",
        "",
        "`authgate aaa --config FILE` reads its own file; secrets are named by `*_env` keys.",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    out += _file_table(aaa.AAAConfig, "")
    for section, model in (
        ("radius.", aaa.RadiusSettings),
        ("tacacs.", aaa.TacacsSettings),
        ("radius.clients[] / tacacs.clients[].", aaa.ClientSettings),
        ("local_users.NAME.", aaa.LocalUserSettings),
        ("okta.", aaa.OktaSettings),
        ("mfa.", aaa.MfaSettings),
        ("cache.", aaa.CacheSettings),
        ("command_rules[].", aaa.CommandRuleSettings),
        ("replies.", aaa.ReplyTemplates),
    ):
        out += _file_table(model, section)
    return "\n".join(out) + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        current = PAGE.read_text(encoding="utf-8") if PAGE.is_file() else ""
        if current != text:
            print(f"{PAGE} is stale: run python scripts/gen_config_reference.py")
            return 1
        return 0
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
