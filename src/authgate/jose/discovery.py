"""Authorization server metadata discovery (RFC 8414 §3, OpenID Connect Discovery 1.0 §4).

Configuring only an issuer is the least error-prone setup: the JWKS URL is read from the
issuer's own metadata, and the document's ``issuer`` must equal the configured one exactly
(RFC 8414 §3.3) — a trailing slash or an Okta org-vs-custom authorization server mix-up is
caught at the first fetch with both values in the message, not as a stream of
``auth.invalid_issuer`` rejections later.

Candidate documents, in order: ``{issuer}/.well-known/openid-configuration``, the RFC 8414
path-inserted ``{origin}/.well-known/oauth-authorization-server{path}``, and the legacy
appended ``{issuer}/.well-known/oauth-authorization-server`` (Okta serves both forms).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import httpx

from authgate.clock import Clock, system_clock
from authgate.errors import AuthError, ConfigError, ErrorCode
from authgate.jose.fetch import (
    FetchError,
    Response,
    aget_capped,
    async_client,
    check_url,
    get_capped,
    json_object,
    sync_client,
)
from authgate.jose.jwks import JWKSOptions, RemoteJWKS
from authgate.jose.key_source import KeySourceStatus
from authgate.jose.keys import KeySet

__all__ = ["DiscoveredJWKS", "ProviderMetadata", "adiscover", "discover", "discovery_urls"]

_DEFAULTS = JWKSOptions()


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of an authorization server's metadata authgate uses; ``raw`` keeps the rest."""

    issuer: str
    jwks_uri: str
    token_endpoint: str | None
    introspection_endpoint: str | None
    raw: Mapping[str, Any]


def discovery_urls(issuer: str, discovery_url: str | None = None) -> tuple[str, ...]:
    """The metadata URLs tried for ``issuer`` (just ``discovery_url`` when one is configured)."""
    if discovery_url:
        return (discovery_url,)
    base = issuer.rstrip("/")
    url = httpx.URL(base)
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
    candidates = (
        f"{base}/.well-known/openid-configuration",
        f"{origin}/.well-known/oauth-authorization-server{url.path.rstrip('/')}",
        f"{base}/.well-known/oauth-authorization-server",
    )
    return tuple(dict.fromkeys(candidates))  # dedupe, keep order (equal when there is no path)


def _mismatch_hint(configured: str, published: str) -> str:
    if configured.rstrip("/") == published.rstrip("/"):
        return " (they differ only by a trailing slash; configure the issuer exactly as published)"
    if "/oauth2/" in configured + published:
        return (
            " (Okta: the org authorization server's issuer is https://{domain}; a custom one's "
            "is https://{domain}/oauth2/{id}; tokens from a custom URL domain carry that domain)"
        )
    return ""


def _metadata(response: Response, url: str, issuer: str, allow_http: bool) -> ProviderMetadata:
    doc = json_object(response)
    published = doc.get("issuer")
    if not isinstance(published, str):
        raise FetchError('not authorization server metadata: no string "issuer"')
    if published != issuer:
        raise ConfigError(
            "issuer",
            f"configured issuer {issuer!r} does not equal the issuer {published!r} published "
            f"at {url}{_mismatch_hint(issuer, published)}",
        )
    jwks_uri = doc.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise FetchError('the metadata has no "jwks_uri"; configure jwks_uri explicitly')
    check_url(jwks_uri, setting=f"jwks_uri published at {url}", allow_insecure_http=allow_http)

    def optional(name: str) -> str | None:
        value = doc.get(name)
        return value if isinstance(value, str) else None

    return ProviderMetadata(
        issuer=published,
        jwks_uri=jwks_uri,
        token_endpoint=optional("token_endpoint"),
        introspection_endpoint=optional("introspection_endpoint"),
        raw=MappingProxyType(doc),
    )


def _checked_urls(issuer: str, discovery_url: str | None, allow_http: bool) -> tuple[str, ...]:
    check_url(issuer, setting="issuer", allow_insecure_http=allow_http)
    if httpx.URL(issuer).query:
        raise ConfigError("issuer", f"{issuer!r} must not have a query (RFC 8414 §2)")
    if discovery_url is not None:
        check_url(discovery_url, setting="discovery_url", allow_insecure_http=allow_http)
    return discovery_urls(issuer, discovery_url)


def _not_found(issuer: str, failures: list[str]) -> AuthError:
    return AuthError(
        ErrorCode.JWKS_UNAVAILABLE,
        f"no usable metadata for issuer {issuer!r}: " + "; ".join(failures),
        extra={"issuer": issuer},
    )


def discover(
    issuer: str,
    *,
    discovery_url: str | None = None,
    options: JWKSOptions = _DEFAULTS,
    transport: httpx.BaseTransport | None = None,
) -> ProviderMetadata:
    """Fetch and check ``issuer``'s metadata. Raises ConfigError on an issuer mismatch or a
    refused URL, AuthError(JWKS_UNAVAILABLE) when no candidate document could be used."""
    allow_http = options.allow_insecure_http
    urls = _checked_urls(issuer, discovery_url, allow_http)
    failures: list[str] = []
    with sync_client(transport, options.timeout) as client:
        for url in urls:
            try:
                response = get_capped(
                    client, url, time_limit=options.timeout, max_bytes=options.max_bytes
                )
                return _metadata(response, url, issuer, allow_http)
            except FetchError as exc:
                failures.append(f"{url}: {exc.reason}")
    raise _not_found(issuer, failures)


async def adiscover(
    issuer: str,
    *,
    discovery_url: str | None = None,
    options: JWKSOptions = _DEFAULTS,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ProviderMetadata:
    """Async twin of :func:`discover`."""
    allow_http = options.allow_insecure_http
    urls = _checked_urls(issuer, discovery_url, allow_http)
    failures: list[str] = []
    async with async_client(transport, options.timeout) as client:
        for url in urls:
            try:
                response = await aget_capped(
                    client, url, time_limit=options.timeout, max_bytes=options.max_bytes
                )
                return _metadata(response, url, issuer, allow_http)
            except FetchError as exc:
                failures.append(f"{url}: {exc.reason}")
    raise _not_found(issuer, failures)


class DiscoveredJWKS:
    """A KeySource that discovers ``jwks_uri`` once (lazily), then delegates to RemoteJWKS.

    Discovery failures are remembered for ``options.cooldown`` so an outage does not turn every
    request into a metadata fetch; all of them surface as ``auth.jwks_unavailable`` (503),
    an issuer mismatch included, because at request time they mean "cannot check keys now".
    """

    def __init__(
        self,
        issuer: str,
        *,
        discovery_url: str | None = None,
        options: JWKSOptions = _DEFAULTS,
        clock: Clock = system_clock,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        _checked_urls(issuer, discovery_url, options.allow_insecure_http)
        self._issuer, self._discovery_url = issuer, discovery_url
        self._options, self._clock = options, clock
        self._transport, self._async_transport = transport, async_transport
        self._remote: RemoteJWKS | None = None
        self.metadata: ProviderMetadata | None = None
        self._lock = threading.Lock()  # one sync discovery at a time
        self._alock: asyncio.Lock | None = None  # one async discovery at a time (per loop)
        self._failed_at: float | None = None
        self._error: AuthError | None = None
        self._attempts = self._failures = 0

    def current(self) -> KeySet | None:
        return self._remote.current() if self._remote is not None else None

    def get(self, kid: str | None) -> KeySet:
        remote = self._remote
        if remote is None:
            with self._lock:
                remote = self._remote
                if remote is None:
                    self._before_attempt()
                    remote = self._install(self._sync())
        return remote.get(kid)

    async def aget(self, kid: str | None) -> KeySet:
        remote = self._remote
        if remote is None:
            self._alock = self._alock or asyncio.Lock()
            async with self._alock:
                remote = self._remote
                if remote is None:
                    self._before_attempt()
                    remote = self._install(await self._async())
        return await remote.aget(kid)

    def status(self) -> KeySourceStatus:
        if self._remote is not None:
            inner = self._remote.status()
            source = f"{self._issuer} (discovered {inner.source})"
            fetches, failures = inner.fetches + self._attempts, inner.failures + self._failures
            return replace(inner, source=source, fetches=fetches, failures=failures)
        return KeySourceStatus(
            source=f"{self._issuer} (discovery pending)",
            loaded=False,
            kids=(),
            age=None,
            expires_in=None,
            stale=False,
            fetches=self._attempts,
            failures=self._failures,
            last_error=self._error.detail if self._error is not None else None,
        )

    async def aclose(self) -> None:
        if self._remote is not None:
            await self._remote.aclose()

    def close(self) -> None:
        """Sync-only shutdown (see :meth:`RemoteJWKS.close`)."""
        if self._remote is not None:
            self._remote.close()

    def drain(self, timeout: float) -> bool:
        """Wait for a key fetch under way (see :meth:`RemoteJWKS.drain`)."""
        return self._remote.drain(timeout) if self._remote is not None else True

    # -- shared steps ---------------------------------------------------------------------------
    def _before_attempt(self) -> None:
        """Re-raise the last failure while inside the cooldown; otherwise count an attempt."""
        now = self._clock.monotonic()
        if self._error is not None and self._failed_at is not None:
            left = self._failed_at + self._options.cooldown - now
            if left > 0:
                raise AuthError(
                    self._error.code, self._error.detail, retry_after=left, extra=self._error.extra
                )
        self._attempts += 1
        self._failed_at = now

    def _sync(self) -> ProviderMetadata | AuthError:
        try:
            return discover(
                self._issuer,
                discovery_url=self._discovery_url,
                options=self._options,
                transport=self._transport,
            )
        except (AuthError, ConfigError) as exc:
            return self._as_unavailable(exc)
        except Exception as exc:  # noqa: BLE001 - a broken document must hit the cooldown too
            return self._as_unavailable(
                ConfigError("discovery", f"unusable ({type(exc).__name__})")
            )

    async def _async(self) -> ProviderMetadata | AuthError:
        try:
            return await adiscover(
                self._issuer,
                discovery_url=self._discovery_url,
                options=self._options,
                transport=self._async_transport,
            )
        except (AuthError, ConfigError) as exc:
            return self._as_unavailable(exc)
        except Exception as exc:  # noqa: BLE001 - a broken document must hit the cooldown too
            return self._as_unavailable(
                ConfigError("discovery", f"unusable ({type(exc).__name__})")
            )

    def _as_unavailable(self, exc: AuthError | ConfigError) -> AuthError:
        if isinstance(exc, AuthError):
            return exc
        return AuthError(ErrorCode.JWKS_UNAVAILABLE, exc.detail, extra={"issuer": self._issuer})

    def _install(self, found: ProviderMetadata | AuthError) -> RemoteJWKS:
        if self._remote is not None:  # a sync and an async discovery raced; keep the first
            return self._remote
        if isinstance(found, AuthError):
            self._error = found
            self._failures += 1
            raise found
        self._remote = RemoteJWKS(
            found.jwks_uri,
            options=self._options,
            clock=self._clock,
            transport=self._transport,
            async_transport=self._async_transport,
        )
        self.metadata, self._error, self._failed_at = found, None, None
        return self._remote
