"""Where a verifier's keys come from (RFC 7517 §5 key sets): the KeySource protocol and StaticKeys.

A verifier never holds keys itself; it asks a :class:`KeySource`. Remote sources
(:class:`~authgate.jose.jwks.RemoteJWKS`, :class:`~authgate.jose.discovery.DiscoveredJWKS`)
cache, refresh and survive IdP outages; :class:`StaticKeys` is the same face over keys fixed at
start-up (an inline JWKS, a JWKS or PEM file, HS secrets), so the verifier has one code path.

Remote sources fetch through :mod:`authgate.jose.fetch` (TLS unless loopback, no redirects,
size caps while streaming, a total deadline).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from authgate.errors import ConfigError
from authgate.jose.json import JSONError, loads_object
from authgate.jose.keys import KeyImportError, KeySet, VerificationKey

__all__ = ["KeySource", "KeySourceStatus", "StaticKeys"]

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
