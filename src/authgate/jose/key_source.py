"""Where a verifier's keys come from (RFC 7517 §5 key sets): the KeySource protocol, StaticKeys,
and the bounded HTTPS fetch that remote sources share.

A verifier never holds keys itself; it asks a :class:`KeySource`. Remote sources
(:class:`~authgate.jose.jwks.RemoteJWKS`, :class:`~authgate.jose.discovery.DiscoveredJWKS`)
cache, refresh and survive IdP outages; :class:`StaticKeys` is the same face over keys fixed at
start-up (an inline JWKS, a JWKS or PEM file, HS secrets), so the verifier has one code path.

Remote key material is only as trustworthy as its transport, so every fetch goes through
:func:`check_url` (TLS unless loopback) and :func:`get_capped` / :func:`aget_capped` (no
redirects, a size cap enforced while streaming, a total deadline).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypedDict, runtime_checkable

import httpx

from authgate.errors import ConfigError
from authgate.jose.json import JSONError, loads_object
from authgate.jose.keys import KeyImportError, KeySet, VerificationKey

__all__ = [
    "FetchError",
    "FetchLimits",
    "KeySource",
    "KeySourceStatus",
    "Response",
    "StaticKeys",
    "aget_capped",
    "async_client",
    "check_url",
    "get_capped",
    "is_loopback",
    "json_object",
    "sync_client",
]

_MAX_KEY_FILE = 1024 * 1024  # a key file bigger than this is a mistake, not a key set


@dataclass(frozen=True)
class KeySourceStatus:
    """Read-only snapshot of a key source for ``/readyz``, metrics and ``authgate doctor``.

    ``age`` is seconds since the keys were loaded; ``expires_in`` is seconds left of their TTL
    (negative once past it); ``stale`` is true while expired keys are served because refreshing
    failed. Static sources report ``None`` for both times and never go stale.
    """

    source: str
    loaded: bool
    kids: tuple[str, ...]
    age: float | None
    expires_in: float | None
    stale: bool
    fetches: int
    failures: int
    last_error: str | None


@runtime_checkable
class KeySource(Protocol):
    """Keys for one issuer. ``get``/``aget`` share one decision path; only their IO differs."""

    def current(self) -> KeySet | None:
        """The loaded keys while fresh, else None (nothing loaded, refresh due, or stale):
        then call :meth:`get`/:meth:`aget`. Never does IO, never blocks — a verifier's fast
        path may use it and still let remote sources refresh on time."""
        ...

    def get(self, kid: str | None) -> KeySet:
        """Keys to verify a token with ``kid``: loads on first use, refetches an unknown kid
        at most once per cooldown. Raises ``AuthError(JWKS_UNAVAILABLE)`` when no usable keys."""
        ...

    async def aget(self, kid: str | None) -> KeySet:
        """Async twin of :meth:`get`."""
        ...

    def status(self) -> KeySourceStatus:
        """Introspection snapshot; never does IO."""
        ...

    async def aclose(self) -> None:
        """Stop background work and release HTTP clients."""
        ...


class StaticKeys:
    """A :class:`KeySource` over a fixed :class:`KeySet`; nothing to fetch, nothing expires."""

    __slots__ = ("_description", "_keys")

    def __init__(self, keys: KeySet, *, description: str) -> None:
        if not keys.keys:
            raise ConfigError(description, "the key set has no usable keys" + _skipped(keys))
        self._keys = keys
        self._description = description

    @classmethod
    def from_file(cls, path: str | Path) -> StaticKeys:
        """Load a JWKS JSON file (``{"keys": [...]}``) or a PEM public key / certificate file."""
        setting = f"jwks_file ({path})"
        try:
            data = Path(path).read_bytes()[: _MAX_KEY_FILE + 1]
        except OSError as exc:
            raise ConfigError(setting, f"cannot read the file: {exc.strerror or exc}") from None
        if len(data) > _MAX_KEY_FILE:
            raise ConfigError(setting, f"larger than {_MAX_KEY_FILE} bytes; not a key file")
        try:
            if data.lstrip().startswith(b"{"):
                keys = KeySet.from_jwks(loads_object(data))
            else:
                keys = KeySet((VerificationKey.from_pem(data),))
        except (JSONError, KeyImportError) as exc:
            raise ConfigError(setting, f"not a JWKS or PEM public key: {exc}") from None
        return cls(keys, description=f"file {path}")

    @property
    def keys(self) -> KeySet:
        return self._keys

    def current(self) -> KeySet:
        return self._keys

    def get(self, kid: str | None) -> KeySet:
        return self._keys

    async def aget(self, kid: str | None) -> KeySet:
        return self._keys

    def status(self) -> KeySourceStatus:
        return KeySourceStatus(
            source=self._description,
            loaded=True,
            kids=tuple(sorted(self._keys.kids)),
            age=None,
            expires_in=None,
            stale=False,
            fetches=0,
            failures=0,
            last_error=None,
        )

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"StaticKeys({self._description!r}, kids={sorted(self._keys.kids)!r})"


def _skipped(keys: KeySet) -> str:
    if not keys.skipped:
        return ""
    reasons = "; ".join(f"{kid or '(no kid)'}: {why}" for kid, why in keys.skipped[:5])
    return f" (skipped: {reasons})"


# -- bounded HTTPS fetch, shared by RemoteJWKS and discovery ------------------------------------
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
