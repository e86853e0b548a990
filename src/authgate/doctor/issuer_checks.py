"""Doctor checks of one issuer: discovery (RFC 8414 §3), JWKS (RFC 7517 §5), caching, clock skew.

Why live requests instead of building the verifier: the verifier fails closed with one code
(``auth.jwks_unavailable``); here each step is fetched on its own so the report can say which
URL did not answer, which ``issuer`` the document published (trailing slash, org vs custom
authorization server), which key types the JWKS holds against the allowed algorithms, what
``Cache-Control`` the IdP sends and how far its ``Date`` is from our clock.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from authgate.doctor.context import DoctorContext
from authgate.doctor.report import CheckResult, Status
from authgate.errors import AuthgateError, ErrorCode
from authgate.jose.discovery import discovery_urls
from authgate.jose.fetch import ttl_from_headers
from authgate.jose.jwks import JWKSOptions
from authgate.jose.key_source import StaticKeys
from authgate.jose.keys import KeyImportError, KeySet
from authgate.settings import IssuerSettings

__all__ = ["check_issuer"]

_SKEW_OK = 5.0  # Date has one-second resolution and the request takes time


@dataclass
class _Fetched:
    url: str
    response: httpx.Response | None
    error: str | None


async def _get(client: httpx.AsyncClient, url: str) -> _Fetched:
    try:
        response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        return _Fetched(url, None, f"{type(exc).__name__}: {exc}".rstrip(": "))
    if response.status_code != 200:
        return _Fetched(url, response, f"HTTP {response.status_code}")
    return _Fetched(url, response, None)


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        value = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _issuer_hint(configured: str, published: str) -> str:
    if configured.rstrip("/") == published.rstrip("/"):
        return "they differ only by a trailing slash"
    if ("/oauth2/" in configured) != ("/oauth2/" in published):
        return (
            "one is Okta's org authorization server (https://{domain}), the other a custom one "
            "(https://{domain}/oauth2/{id}): their tokens are not interchangeable"
        )
    return "they name different servers"


async def _discovery(
    cfg: IssuerSettings, client: httpx.AsyncClient, name: str
) -> tuple[list[CheckResult], dict[str, Any] | None, httpx.Response | None]:
    """Discovery reachable + exact issuer match; the document and the answer for later checks."""
    failures: list[str] = []
    for url in discovery_urls(cfg.issuer, cfg.discovery_url):
        fetched = await _get(client, url)
        doc = (
            _json(fetched.response) if fetched.response is not None and not fetched.error else None
        )
        if doc is None:
            failures.append(f"{url}: {fetched.error or 'not a JSON object'}")
            continue
        found = CheckResult(f"discovery [{name}]", Status.PASS, f"metadata at {url}")
        published = doc.get("issuer")
        if published == cfg.issuer:
            match = CheckResult(
                f"issuer [{name}]", Status.PASS, "the published issuer equals the configured one"
            )
        else:
            match = CheckResult(
                f"issuer [{name}]",
                Status.FAIL,
                f"configured {cfg.issuer!r} but the document publishes {published!r} "
                f"({_issuer_hint(cfg.issuer, str(published))})",
                fix=f"set the issuer to exactly {published!r} (tokens carry it in `iss`)",
                code=str(ErrorCode.INVALID_ISSUER),
            )
        return [found, match], doc, fetched.response
    direct = cfg.jwks_uri is not None
    result = CheckResult(
        f"discovery [{name}]",
        Status.WARN if direct else Status.FAIL,
        "no discovery document answered: " + "; ".join(failures),
        fix=(
            "jwks_uri is used directly, so only the issuer match is unchecked; fix the URL to "
            "check it"
            if direct
            else "check the issuer URL (Okta custom server: https://{domain}/oauth2/{id}) and "
            "that this host can reach it, or set jwks_uri / discovery_url"
        ),
        code=str(ErrorCode.JWKS_UNAVAILABLE),
    )
    return [result], None, None


def _keys_result(cfg: IssuerSettings, keys: KeySet, where: str, name: str) -> CheckResult:
    allowed = list(cfg.algorithms)
    unusable = [alg for alg in allowed if not keys.usable_for(alg)]
    held = sorted({f"{k.kty} ({', '.join(sorted(k.algorithms))})" for k in keys.keys}) or ["none"]
    skipped = [f"{kid or '-'}: {why}" for kid, why in keys.skipped]
    details = {"keys": len(keys.keys), "kids": sorted(keys.kids), "skipped": skipped}
    if len(unusable) == len(allowed):
        return CheckResult(
            f"jwks [{name}]",
            Status.FAIL,
            f"no key at {where} can verify {', '.join(allowed)}; it holds {', '.join(held)}",
            fix="set algorithms to what the IdP signs with (Okta: RS256), or fix the key source",
            code=str(ErrorCode.UNSUPPORTED_ALGORITHM),
            details=details,
        )
    if unusable or skipped:
        parts = [f"no key for {', '.join(unusable)}"] if unusable else []
        parts += [f"refused entries: {'; '.join(skipped)}"] if skipped else []
        return CheckResult(
            f"jwks [{name}]",
            Status.WARN,
            f"{len(keys.keys)} usable keys at {where}, but " + ", ".join(parts),
            fix="drop algorithms the IdP does not sign with from `algorithms`",
            details=details,
        )
    return CheckResult(
        f"jwks [{name}]",
        Status.PASS,
        f"{len(keys.keys)} keys at {where} verify {', '.join(allowed)}",
        details=details,
    )


def _cache_result(cfg: IssuerSettings, response: httpx.Response, name: str) -> CheckResult:
    header = response.headers.get("cache-control")
    options = JWKSOptions(
        min_ttl=cfg.jwks_min_ttl, max_ttl=cfg.jwks_max_ttl, default_ttl=cfg.jwks_cache_ttl
    )
    ttl = ttl_from_headers(response.headers, options)
    check = f"jwks cache [{name}]"
    if header is None:
        return CheckResult(
            check,
            Status.WARN,
            f"the JWKS answer has no Cache-Control; keys are cached {ttl:.0f} s (jwks_cache_ttl)",
            fix="fine for a dev IdP; for Okta this means a proxy strips the header",
        )
    lowered = header.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return CheckResult(
            check,
            Status.WARN,
            f"Cache-Control: {header} — keys are refetched every {ttl:.0f} s (jwks_min_ttl)",
            fix="expected briefly around an Okta key rotation; if it persists, check proxies",
        )
    return CheckResult(check, Status.PASS, f"Cache-Control: {header} → cached {ttl:.0f} s")


def _skew_result(
    cfg: IssuerSettings, response: httpx.Response, now: float, name: str
) -> CheckResult:
    check = f"clock skew [{name}]"
    date = response.headers.get("date")
    server_time = None
    if date is not None:
        with contextlib.suppress(TypeError, ValueError):
            server_time = parsedate_to_datetime(date).timestamp()
    if server_time is None:
        return CheckResult(check, Status.WARN, "the IdP sent no usable Date header; not measured")
    skew = now - server_time
    where = "ahead of" if skew > 0 else "behind"
    said = f"this host is {abs(skew):.0f} s {where} the IdP"
    details = {"skew_seconds": round(skew, 1)}
    if abs(skew) <= _SKEW_OK:
        return CheckResult(check, Status.PASS, said, details=details)
    code = ErrorCode.TOKEN_EXPIRED if skew > 0 else ErrorCode.TOKEN_NOT_YET_VALID
    fix = "synchronise the clock (NTP/chrony) on this host and the IdP"
    if abs(skew) <= cfg.leeway:
        return CheckResult(
            check,
            Status.WARN,
            f"{said}; within the leeway ({cfg.leeway:.0f} s) but close to refusals",
            fix=fix,
            details=details,
        )
    return CheckResult(
        check,
        Status.FAIL,
        f"{said}, more than the leeway ({cfg.leeway:.0f} s): fresh tokens will be refused",
        fix=fix,
        code=str(code),
        details=details,
    )


def _static(cfg: IssuerSettings, name: str) -> list[CheckResult]:
    try:
        source = (
            StaticKeys(KeySet.from_jwks(cfg.jwks), description="inline jwks")
            if cfg.jwks is not None
            else StaticKeys.from_file(cfg.jwks_file)  # type: ignore[arg-type]
        )
        keys = source.get(None)
    except (KeyImportError, OSError, AuthgateError) as exc:
        return [
            CheckResult(
                f"jwks [{name}]",
                Status.FAIL,
                f"static keys unusable: {exc}",
                fix="point jwks_file at a JWKS JSON or a PEM public key",
                code=str(ErrorCode.CONFIG_INVALID),
            )
        ]
    where = "the inline jwks" if cfg.jwks is not None else str(cfg.jwks_file)
    skipped = CheckResult(f"discovery [{name}]", Status.SKIP, "static keys: nothing to fetch")
    return [skipped, _keys_result(cfg, keys, where, name)]


async def check_issuer(ctx: DoctorContext, cfg: IssuerSettings) -> list[CheckResult]:
    """Every check of one issuer, in the order a verifier would depend on them."""
    name = cfg.issuer
    if cfg.jwks is not None or cfg.jwks_file is not None:
        return _static(cfg, name)
    if cfg.hs_secret_env:
        return [CheckResult(f"keys [{name}]", Status.SKIP, f"HS secret from ${cfg.hs_secret_env}")]
    results: list[CheckResult] = []
    async with httpx.AsyncClient(timeout=cfg.jwks_timeout, follow_redirects=False) as client:
        ctx.progress(f"discovery {name}")
        found, doc, answer = await _discovery(cfg, client, name)
        results += found
        jwks_uri = cfg.jwks_uri or (doc or {}).get("jwks_uri")
        if not isinstance(jwks_uri, str):
            if doc is not None:
                results.append(
                    CheckResult(
                        f"jwks [{name}]",
                        Status.FAIL,
                        "the discovery document has no jwks_uri",
                        fix="set jwks_uri explicitly",
                        code=str(ErrorCode.JWKS_UNAVAILABLE),
                    )
                )
            return results
        ctx.progress(f"jwks {name}")
        fetched = await _get(client, jwks_uri)
    if fetched.error is not None or fetched.response is None:
        results.append(
            CheckResult(
                f"jwks [{name}]",
                Status.FAIL,
                f"{jwks_uri} did not answer a JWKS: {fetched.error}",
                fix="check jwks_uri (Okta: {issuer}/v1/keys) and network access from this host",
                code=str(ErrorCode.JWKS_UNAVAILABLE),
            )
        )
        return results
    try:
        keys = KeySet.from_jwks(_json(fetched.response) or {})
    except KeyImportError as exc:
        results.append(
            CheckResult(
                f"jwks [{name}]",
                Status.FAIL,
                f"{jwks_uri}: {exc}",
                fix="jwks_uri must point at the JWKS (Okta: {issuer}/v1/keys), not another page",
                code=str(ErrorCode.JWKS_UNAVAILABLE),
            )
        )
        return results
    results.append(_keys_result(cfg, keys, jwks_uri, name))
    results.append(_cache_result(cfg, fetched.response, name))
    results.append(_skew_result(cfg, answer or fetched.response, ctx.clock.time(), name))
    return results
