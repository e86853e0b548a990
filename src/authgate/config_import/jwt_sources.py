"""Importers of JWT bearer-validation settings: ASP.NET, env-style ``JWT_*``, ``ORCHEO_AUTH_*``.

Each maps the source's names onto :class:`~authgate.settings.IssuerSettings` fields and notes
every behaviour that differs (ASP.NET's five-minute clock skew, a role claim given as a
Microsoft claim URI, a disabled audience check). Secrets stay where they are: an HS secret is
read through ``hs_secret_env`` naming the old variable; client secrets are referenced.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from authgate.config_import.model import ImportResult, parse_env_file, split_list

__all__ = ["import_aspnet", "import_env_jwt", "import_orcheo"]

_MS_ROLE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)")


def _seconds(text: str) -> float:
    """A .NET TimeSpan (``00:05:00``, ``1.00:00:00``) or plain seconds."""
    match = _TIMESPAN.fullmatch(text.strip())
    if match is None:
        return float(text)
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _flatten(value: Any, path: tuple[str, ...], out: dict[tuple[str, ...], str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, (*path, str(key)), out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, (*path, str(index)), out)
    elif value is not None:
        out[path] = str(value).lower() if isinstance(value, bool) else str(value)


def _aspnet_groups(text: str) -> dict[tuple[str, ...], dict[str, list[str]]]:
    """Scheme path → leaf name (lower case) → values, from appsettings.json or ``A__B=`` lines."""
    flat: dict[tuple[str, ...], str] = {}
    if text.lstrip().startswith("{"):
        _flatten(orjson.loads(text), (), flat)
    else:
        for key, value in parse_env_file(text).items():
            flat[tuple(re.split(r"__|:", key))] = value
    groups: dict[tuple[str, ...], dict[str, list[str]]] = {}
    for path, value in flat.items():
        parts = [p for p in path if p.lower() != "tokenvalidationparameters"]
        if parts and parts[-1].isdigit():
            parts = parts[:-1]
        if not parts:
            continue
        leaf, scheme = parts[-1].lower(), tuple(parts[:-1])
        groups.setdefault(scheme, {}).setdefault(leaf, []).append(value)
    return groups


def import_aspnet(text: str) -> ImportResult:
    """``JwtBearer`` options: Authority, ValidIssuer(s), ValidAudiences__N, RoleClaimType, ..."""
    result = ImportResult("aspnet")
    for scheme, leaves in _aspnet_groups(text).items():
        issuers = leaves.get("validissuer", []) + leaves.get("validissuers", [])
        authority = next(iter(leaves.get("authority", [])), None)
        if not issuers and authority:
            issuers = [authority]
        if not issuers:
            continue
        fields: dict[str, Any] = {}
        audiences = [
            a
            for key in ("audience", "validaudience", "validaudiences")
            for a in leaves.get(key, [])
        ]
        if audiences:
            fields["audiences"] = list(dict.fromkeys(audiences))
        if leaves.get("metadataaddress"):
            fields["discovery_url"] = leaves["metadataaddress"][0]
        if leaves.get("validalgorithms"):
            fields["algorithms"] = leaves["validalgorithms"]
        if leaves.get("clockskew"):
            fields["leeway"] = _seconds(leaves["clockskew"][0])
        else:
            result.note("ClockSkew unset: ASP.NET allowed 300 s, authgate's leeway is 60 s")
        role = next(iter(leaves.get("roleclaimtype", [])), None)
        if role:
            fields["role_claims"] = ["role"] if role == _MS_ROLE else [role]
            if role == _MS_ROLE:
                result.note("RoleClaimType was the Microsoft role URI; the JWT claim is `role`")
        if (leaves.get("requirehttpsmetadata") or ["true"])[0].lower() == "false":
            fields["allow_insecure_http"] = True
            result.note("RequireHttpsMetadata=false became allow_insecure_http: dev only")
        for flag in ("validateaudience", "validateissuer", "validatelifetime"):
            if (leaves.get(flag) or ["true"])[0].lower() == "false":
                result.note(f"{flag} was false: authgate always validates it")
        if leaves.get("nameclaimtype"):
            result.note("NameClaimType is not needed: the principal's subject is `sub`")
        where = ".".join(scheme) or "(top level)"
        for issuer in issuers:
            result.issuers.append({"issuer": issuer, **fields})
        if authority and authority not in issuers:
            result.note(f"{where}: Authority {authority} differs from ValidIssuer; check both")
    if not result.issuers:
        result.note("no Authority or ValidIssuer found")
    return result


_ENV_JWT: dict[str, tuple[str, str]] = {
    "JWT_ISSUER": ("issuer", "str"),
    "JWT_JWKS_URI": ("jwks_uri", "str"),
    "JWT_AUDIENCE": ("audiences", "list"),
    "JWT_REQUIRED_SCOPE": ("required_scopes", "list"),
    "JWT_SCOPE_CLAIM_NAME": ("scope_claims", "list"),
    "JWT_ALLOWED_ALGORITHMS": ("algorithms", "list"),
    "JWT_LEEWAY_SECONDS": ("leeway", "float"),
    "JWKS_CACHE_TTL": ("jwks_cache_ttl", "float"),
}
_EXCHANGE: dict[str, tuple[str, str]] = {
    "TOKEN_EXCHANGE_ISSUER": ("okta", "issuer"),
    "TOKEN_EXCHANGE_TOKEN_URL": ("okta", "token_endpoint"),
    "TOKEN_EXCHANGE_CLIENT_ID": ("okta", "client_id"),
    "TOKEN_EXCHANGE_AUDIENCE": ("gateway", "exchange_audience"),
    "TOKEN_EXCHANGE_SCOPES": ("gateway", "exchange_scopes"),
}


def _convert(value: str, kind: str) -> Any:
    if kind == "list":
        return split_list(value)
    if kind == "float":
        return float(value)
    return value


def import_env_jwt(text: str) -> ImportResult:
    """``JWT_*`` validation settings plus ``TOKEN_EXCHANGE_*`` (a .env file)."""
    result = ImportResult("env-jwt")
    values = parse_env_file(text)
    issuer = {f: _convert(values[k], kind) for k, (f, kind) in _ENV_JWT.items() if values.get(k)}
    if "issuer" in issuer:
        result.issuers.append({"issuer": issuer.pop("issuer"), **issuer})
    else:
        result.note("JWT_ISSUER missing: authgate needs the exact issuer")
    for key, (table, name) in _EXCHANGE.items():
        if values.get(key):
            target = result.okta if table == "okta" else result.gateway
            target[name] = split_list(values[key]) if name.endswith("scopes") else values[key]
    if values.get("TOKEN_EXCHANGE_CLIENT_SECRET"):
        result.env["AUTHGATE_OKTA_CLIENT_SECRET"] = "${TOKEN_EXCHANGE_CLIENT_SECRET}"
    known = set(_ENV_JWT) | set(_EXCHANGE) | {"TOKEN_EXCHANGE_CLIENT_SECRET"}
    for key in sorted(set(values) - known):
        if key.startswith(("JWT_", "JWKS_", "TOKEN_EXCHANGE_")):
            result.note(f"{key} has no authgate equivalent and was not converted")
    return result


_ORCHEO_ISSUER: dict[str, tuple[str, str]] = {
    "ISSUER": ("issuer", "str"),
    "AUDIENCE": ("audiences", "list"),
    "JWKS_URL": ("jwks_uri", "str"),
    "ALLOWED_ALGORITHMS": ("algorithms", "list"),
    "JWKS_CACHE_TTL": ("jwks_cache_ttl", "float"),
    "JWKS_TIMEOUT": ("jwks_timeout", "float"),
}
_ORCHEO_ENV = {
    "SERVICE_TOKEN_DB_PATH": "AUTHGATE_TOKEN_STORE_PATH",
    "BOOTSTRAP_TOKEN_SCOPES": "AUTHGATE_BOOTSTRAP_TOKEN_SCOPES",
    "BOOTSTRAP_TOKEN_EXPIRES_AT": "AUTHGATE_BOOTSTRAP_TOKEN_EXPIRES_AT",
    "RATE_LIMIT_IP": "AUTHGATE_LIMITER_IP_LIMIT",
    "RATE_LIMIT_IDENTITY": "AUTHGATE_LIMITER_IDENTITY_LIMIT",
    "RATE_LIMIT_INTERVAL": "AUTHGATE_LIMITER_INTERVAL",
}


def import_orcheo(text: str) -> ImportResult:
    """``ORCHEO_AUTH_*`` service-token and JWT settings (a .env file)."""
    result = ImportResult("orcheo")
    raw = parse_env_file(text)
    values = {k.removeprefix("ORCHEO_AUTH_"): v for k, v in raw.items() if v != ""}
    issuer = {f: _convert(values[k], t) for k, (f, t) in _ORCHEO_ISSUER.items() if k in values}
    static = values.get("JWKS_STATIC") or values.get("JWKS")
    if static:
        issuer["jwks"] = orjson.loads(static)
    if "JWT_SECRET" in values:
        issuer["hs_secret_env"] = "ORCHEO_AUTH_JWT_SECRET"
        algorithms = issuer.setdefault("algorithms", ["HS256"])
        if not any(a.startswith("HS") for a in algorithms):
            algorithms.append("HS256")
        result.note("the HS secret is still read from ORCHEO_AUTH_JWT_SECRET (hs_secret_env)")
    if "issuer" in issuer:
        result.issuers.append({"issuer": issuer.pop("issuer"), **issuer})
    elif issuer:
        result.note("ORCHEO_AUTH_ISSUER missing: authgate needs the exact issuer")
    if values.get("MODE"):
        result.top["auth_mode"] = values["MODE"]
    for key, env in _ORCHEO_ENV.items():
        if key in values:
            result.env[env] = values[key]
    if "BOOTSTRAP_SERVICE_TOKEN" in values:
        result.env["AUTHGATE_BOOTSTRAP_TOKEN"] = "<generate: authgate tokens new-bootstrap>"
        result.note("bootstrap tokens now start with agb_: generate a new one")
    if "SERVICE_TOKENS" in values:
        result.note(
            "static ORCHEO_AUTH_SERVICE_TOKENS: recreate each with `authgate tokens create`"
        )
    return result
