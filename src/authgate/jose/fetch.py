"""Bounded document fetching for remote key sources (JWKS, discovery), and their cache TTL.

Remote key material is only as trustworthy as its transport, so every fetch goes through
:func:`check_url` (TLS unless loopback) and :func:`get_capped` / :func:`aget_capped` (no
redirects, a size cap enforced while streaming, a total deadline). :func:`ttl_from_headers`
turns ``Cache-Control`` (RFC 9111 §5.2.2) into a clamped lifetime.
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import httpx

from authgate.errors import ConfigError
from authgate.jose.json import JSONError, loads_object

if TYPE_CHECKING:
    from authgate.jose.jwks import JWKSOptions

__all__ = [
    "FetchError",
    "FetchLimits",
    "Response",
    "aget_capped",
    "async_client",
    "check_url",
    "get_capped",
    "is_loopback",
    "json_object",
    "sync_client",
    "ttl_from_headers",
]


_ACCEPT = {"accept": "application/json, application/jwk-set+json;q=0.9"}


class FetchError(Exception):
    """A remote document could not be used; ``reason`` says why (callers add the URL)."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class FetchLimits(TypedDict):
    """Keyword limits for :func:`get_capped` / :func:`aget_capped`."""

    time_limit: float
    max_bytes: int


@dataclass(frozen=True, slots=True)
class Response:
    """A fully read 200 response, at most ``max_bytes`` long."""

    headers: httpx.Headers
    body: bytes


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``: the only hosts plain http may reach by default."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, setting: str, allow_insecure_http: bool) -> str:
    """Refuse a URL we must not fetch keys from; ConfigError names ``setting`` and says why."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigError(setting, f"{url!r} is not a valid URL ({exc})") from None
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise ConfigError(setting, f"{url!r} must be an absolute https:// URL")
    if parsed.userinfo or parsed.fragment:
        raise ConfigError(setting, f"{url!r} must not carry credentials or a #fragment")
    if parsed.scheme == "http" and not allow_insecure_http and not is_loopback(parsed.host):
        raise ConfigError(
            setting,
            f"{url!r} uses plain http: TLS required (https://) except for loopback hosts "
            "(127.0.0.0/8, ::1, localhost); allow_insecure_http is a development-only escape",
        )
    return url


def sync_client(transport: httpx.BaseTransport | None, timeout: float) -> httpx.Client:
    # Redirects are refused: following one could leave https or the configured host.
    return httpx.Client(transport=transport, timeout=timeout, headers=_ACCEPT)


def async_client(transport: httpx.AsyncBaseTransport | None, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, timeout=timeout, headers=_ACCEPT)


def _describe(exc: httpx.HTTPError, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout:g}s ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _check_head(response: httpx.Response, max_bytes: int) -> None:
    if response.status_code != 200:
        where = response.headers.get("location")
        extra = f" (redirect to {where[:200]!r}; configure the final URL)" if where else ""
        raise FetchError(f"HTTP {response.status_code}{extra}", status=response.status_code)
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise FetchError(f"response too large: {length} bytes > limit of {max_bytes}")


def _check_progress(size: int, max_bytes: int, deadline: float, timeout: float) -> None:
    if size > max_bytes:
        raise FetchError(f"response too large: more than the limit of {max_bytes} bytes")
    # httpx times each read; a server dripping bytes needs a total deadline too. Real time on
    # purpose: this bounds actual IO, like httpx's own timeouts, not cache time.
    if time.monotonic() > deadline:
        raise FetchError(f"timed out after {timeout:g}s (response too slow)")


def get_capped(client: httpx.Client, url: str, *, time_limit: float, max_bytes: int) -> Response:
    """GET ``url``; stop reading past ``max_bytes`` or ``time_limit`` s. Raises FetchError."""
    timeout = time_limit
    deadline = time.monotonic() + timeout
    try:
        with client.stream("GET", url) as response:
            _check_head(response, max_bytes)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                _check_progress(len(body), max_bytes, deadline, timeout)
            return Response(response.headers, bytes(body))
    except httpx.HTTPError as exc:
        raise FetchError(_describe(exc, timeout)) from None


async def aget_capped(
    client: httpx.AsyncClient, url: str, *, time_limit: float, max_bytes: int
) -> Response:
    """Async twin of :func:`get_capped` (the checks are shared; only the reads differ)."""
    timeout = time_limit
    deadline = time.monotonic() + timeout
    try:
        async with client.stream("GET", url) as response:
            _check_head(response, max_bytes)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                _check_progress(len(body), max_bytes, deadline, timeout)
            return Response(response.headers, bytes(body))
    except httpx.HTTPError as exc:
        raise FetchError(_describe(exc, timeout)) from None


def json_object(response: Response) -> dict[str, Any]:
    """The body as a strict JSON object (no duplicate members), else FetchError."""
    try:
        return loads_object(response.body)
    except JSONError as exc:
        raise FetchError(f"not a JSON document: {exc}") from None


def ttl_from_headers(headers: httpx.Headers, options: JWKSOptions) -> float:
    """Cache lifetime from ``Cache-Control`` (RFC 9111 §5.2.2) minus ``Age``, clamped."""
    directives: dict[str, str] = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    # Okta answers no-cache just before a rotation: refetch soon, but never on every request.
    if "no-cache" in directives or "no-store" in directives:
        return options.min_ttl
    # ASCII digits, bounded length: str.isdigit() accepts "²" and int() of 5,000 digits raises.
    max_age = directives.get("max-age", "")
    if not _SECONDS.fullmatch(max_age):
        return options.default_ttl
    age = headers.get("age", "0").strip()
    ttl = int(max_age) - (int(age) if _SECONDS.fullmatch(age) else 0)
    return min(max(float(ttl), options.min_ttl), options.max_ttl)


_SECONDS = re.compile(r"[0-9]{1,10}")
