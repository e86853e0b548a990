"""Importer of an INI TACACS+/RADIUS server's ``[okta]`` backend section → ``authgate aaa`` YAML.

Many self-hosted TACACS+/RADIUS servers keep their Okta backend in an INI ``[okta]`` section
(org URL, API token, group→privilege map, cache and circuit-breaker knobs) with ``[auth]
backends``. This maps it onto :class:`~authgate.aaa.config.AAAConfig`. API tokens and secrets
become ``*_env`` references — a literal token is never copied — and TLS verification cannot be
turned off, which the notes say.
"""

from __future__ import annotations

import configparser
import re
from typing import Any

import orjson

from authgate.config_import.model import ImportResult, split_list

__all__ = ["import_tacacs_ini"]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_OKTA_FLOATS = {
    "read_timeout": "timeout",
    "group_cache_ttl": "group_ttl",
    "group_cache_fail_ttl": "group_negative_ttl",
    "circuit_cooldown": "circuit_cooldown",
}


def _env_name(value: str) -> str | None:
    match = _ENV_REF.fullmatch(value.strip())
    return match.group(1) if match else None


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _secret(
    okta: dict[str, Any], raw: str, field: str, default_env: str, notes: ImportResult
) -> None:
    env = _env_name(raw)
    if env is None:
        env = default_env
        notes.note(f"{field} was written in the file: move it to the environment as ${env}")
    okta[f"{field}_env"] = env


def _okta_section(section: configparser.SectionProxy, result: ImportResult) -> dict[str, Any]:
    okta: dict[str, Any] = {"org_url": section.get("org_url", "").rstrip("/")}
    if section.get("api_token"):
        _secret(okta, section["api_token"], "api_token", "AUTHGATE_AAA_OKTA_API_TOKEN", result)
    if section.get("client_id"):
        okta["client_id"] = section["client_id"]
    if section.get("client_secret"):
        _secret(
            okta,
            section["client_secret"],
            "client_secret",
            "AUTHGATE_AAA_OKTA_CLIENT_SECRET",
            result,
        )
    if _bool(section.get("ropc_enabled", "false")):
        okta["method"] = "password"
    for source, target in _OKTA_FLOATS.items():
        if section.get(source):
            okta[target] = float(section[source])
    if section.get("circuit_failures"):
        okta["circuit_threshold"] = int(section["circuit_failures"])
    if not _bool(section.get("verify_tls", "true")):
        result.note("verify_tls=false is not supported: authgate always verifies TLS")
    if section.get("private_key") or section.get("auth_method"):
        result.note(
            "OAuth (private_key_jwt) for groups is not used by authgate aaa: set api_token_env"
        )
    return okta


def import_tacacs_ini(text: str) -> ImportResult:
    """``[okta]`` (+ ``[auth] backends``, ``[server]`` host/port) → an ``authgate aaa`` file."""
    result = ImportResult("tacacs-ini")
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    parser.read_string(text)
    aaa: dict[str, Any] = {}
    if parser.has_section("auth"):
        wanted = split_list(parser["auth"].get("backends", "local, okta"))
        aaa["backends"] = [b for b in wanted if b in ("local", "okta")]
        for other in sorted(set(wanted) - {"local", "okta"}):
            result.note(f"backend {other!r} has no authgate equivalent")
    if parser.has_section("okta"):
        section = parser["okta"]
        aaa["okta"] = _okta_section(section, result)
        if section.get("require_group_for_auth"):
            aaa["require_group_for_auth"] = _bool(section["require_group_for_auth"])
        if section.get("group_privilege_map"):
            mapping = orjson.loads(section["group_privilege_map"])
            aaa["group_privilege_map"] = {str(k): int(v) for k, v in mapping.items()}
        if section.get("mfa_enabled"):
            aaa["mfa"] = {"push": _bool(section["mfa_enabled"])}
    else:
        result.note("no [okta] section found")
    if parser.has_section("server"):
        server = parser["server"]
        tacacs: dict[str, Any] = {}
        if server.get("host"):
            tacacs["host"] = server["host"]
        if server.get("port"):
            tacacs["port"] = int(server["port"])
        if tacacs:
            aaa["tacacs"] = tacacs
    result.note("add tacacs.clients / radius.clients (cidr + secret_env) for your devices")
    result.aaa = aaa
    return result
