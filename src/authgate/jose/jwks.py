"""JWKS cache (RFC 7517 §5) over HTTP: max-age TTL, refresh-ahead, unknown-kid cooldown,
single-flight, and stale-if-error.

Keys must never be on the request path in steady state: a lookup that finds its ``kid`` returns
at once, and when the TTL is nearly (or already) spent it starts ONE background refresh. Only
an unknown ``kid`` or an empty cache makes a caller wait, and then every concurrent caller waits
for the same fetch; at most one fetch starts per ``cooldown`` (counted from its start), so a
storm of random kids costs the IdP one request; the same pacing applies to retries after a
failed first load, so a down IdP is not hammered. A failed fetch never replaces good keys: they
are served up to ``max_stale`` past their expiry, because last good keys beat an outage.

The sync (:meth:`RemoteJWKS.get`) and async (:meth:`RemoteJWKS.aget`) paths share every
decision (:meth:`RemoteJWKS._plan`, :meth:`RemoteJWKS._land`); they differ only in how they do
IO and how they wait (a thread and an event, or a task).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from enum import Enum

import httpx

from authgate.clock import Clock, system_clock
from authgate.errors import AuthError, ConfigError, ErrorCode
from authgate.jose.fetch import (
    FetchError,
    FetchLimits,
    Response,
    aget_capped,
    async_client,
    check_url,
    get_capped,
    json_object,
    sync_client,
    ttl_from_headers,
)
from authgate.jose.key_source import KeySourceStatus
from authgate.jose.keys import KeyImportError, KeySet

__all__ = ["JWKSOptions", "RemoteJWKS", "ttl_from_headers"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JWKSOptions:
    """Cache and fetch limits for :class:`RemoteJWKS` (and discovery); seconds and bytes."""

    min_ttl: float = 60
    max_ttl: float = 86400
    default_ttl: float = 300
    refresh_ahead: float = 0.2
    cooldown: float = 30
    max_stale: float = 86400
    timeout: float = 5.0
    max_bytes: int = 256 * 1024
    allow_insecure_http: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.min_ttl <= self.default_ttl <= self.max_ttl:
            raise ConfigError("jwks ttl", "need 0 <= min_ttl <= default_ttl <= max_ttl")
        if not 0 <= self.refresh_ahead < 1:
            raise ConfigError("jwks refresh_ahead", "must be a fraction in [0, 1)")
        if self.cooldown < 0 or self.max_stale < 0 or self.timeout <= 0 or self.max_bytes <= 0:
            raise ConfigError("jwks options", "cooldown/max_stale >= 0, timeout/max_bytes > 0")


class _Act(Enum):
    USE = "use"  # answer with the loaded keys
    USE_AND_REFRESH = "use+refresh"  # answer now, refresh in the background
    FETCH = "fetch"  # this caller starts the fetch and waits for it
    WAIT = "wait"  # a fetch is under way: wait for it


@dataclass(eq=False, slots=True)
class _Flight:
    """One fetch; ``seq`` orders results so an old slow fetch never overwrites a newer one."""

    seq: int
    started: float
    loop: asyncio.AbstractEventLoop | None
    done: threading.Event = field(default_factory=threading.Event)
    task: asyncio.Task[None] | None = None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class RemoteJWKS:
    """A :class:`~authgate.jose.key_source.KeySource` for a JWKS URL; thread- and task-safe."""

    def __init__(
        self,
        url: str,
        *,
        options: JWKSOptions = JWKSOptions(),  # frozen: one shared default is safe
        clock: Clock = system_clock,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = check_url(
            url, setting="jwks_uri", allow_insecure_http=options.allow_insecure_http
        )
        self._options = options
        self._limits: FetchLimits = {"time_limit": options.timeout, "max_bytes": options.max_bytes}
        self._clock = clock
        self._transport = transport
        self._async_transport = async_transport
        self._client: httpx.Client | None = None
        self._aclient: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()  # guards all state below; never held across IO
        self._keys: KeySet | None = None
        self._loaded_at = self._refresh_at = self._expires_at = 0.0
        # Steady-state lookups read this pair without the lock: one attribute read is atomic,
        # so they see either the old pair or the new one, both valid answers.
        self._fresh: tuple[KeySet | None, float] = (None, 0.0)
        self._flight: _Flight | None = None
        self._last_start: float | None = None
        self._started_seq = self._landed_seq = 0
        self._fetches = self._failures = 0
        self._last_error: str | None = None
        self._closed = False
        # A fetch may spend `timeout` connecting and `timeout` more reading before its own
        # deadline fires; waiters give up a little after that.
        self._wait_limit = 2 * options.timeout + 1.0

    @property
    def url(self) -> str:
        return self._url

    # -- KeySource -----------------------------------------------------------------------------
    def current(self) -> KeySet | None:
        # Only fresh keys: once a refresh is due the caller must go through get()/aget(), which
        # answer at once and start that refresh — a fast path on current() cannot starve it.
        keys, refresh_at = self._fresh
        return keys if self._clock.monotonic() < refresh_at else None

    def get(self, kid: str | None) -> KeySet:
        keys = self.current()
        if keys is not None and (kid is None or keys.get(kid) is not None):
            return keys
        act, keys, flight = self._plan(kid, loop=None)
        if act is _Act.USE and keys is not None:
            return keys
        assert flight is not None
        if act is _Act.USE_AND_REFRESH and keys is not None:
            name = "authgate-jwks-refresh"
            threading.Thread(target=self._fetch, args=(flight,), name=name, daemon=True).start()
            return keys
        if act is _Act.FETCH:
            self._fetch(flight)
        # A sync call from inside the loop running an async fetch would deadlock that loop.
        elif flight.loop is None or flight.loop is not _running_loop():
            flight.done.wait(self._wait_limit)
        return self._settle()

    async def aget(self, kid: str | None) -> KeySet:
        keys = self.current()
        if keys is not None and (kid is None or keys.get(kid) is not None):
            return keys
        loop = asyncio.get_running_loop()
        act, keys, flight = self._plan(kid, loop=loop)
        if act is _Act.USE and keys is not None:
            return keys
        assert flight is not None
        if act is not _Act.WAIT:
            flight.task = loop.create_task(self._afetch(flight), name="authgate-jwks-fetch")
            self._tasks.add(flight.task)
            flight.task.add_done_callback(self._tasks.discard)
            if act is _Act.USE_AND_REFRESH and keys is not None:
                return keys
        if flight.task is not None and flight.loop is loop:
            await asyncio.wait({flight.task}, timeout=self._wait_limit)
        else:  # the fetch runs in a thread or another loop
            await asyncio.to_thread(flight.done.wait, self._wait_limit)
        return self._settle()

    def status(self) -> KeySourceStatus:
        now = self._clock.monotonic()
        with self._lock:
            keys = self._usable(now)
            loaded = keys is not None
            return KeySourceStatus(
                source=self._url,
                loaded=loaded,
                kids=tuple(sorted(keys.kids)) if keys is not None else (),
                age=now - self._loaded_at if loaded else None,
                expires_in=self._expires_at - now if loaded else None,
                stale=loaded and now >= self._expires_at,
                fetches=self._fetches,
                failures=self._failures,
                last_error=self._last_error,
            )

    async def aclose(self) -> None:
        with self._lock:
            self._closed, self._fresh = True, (None, 0.0)
        loop = asyncio.get_running_loop()
        mine = [t for t in self._tasks if t.get_loop() is loop]
        for task in mine:
            task.cancel()
        await asyncio.gather(*mine, return_exceptions=True)
        if self._aclient is not None:
            await self._aclient.aclose()
        if self._client is not None:
            self._client.close()

    def close(self) -> None:
        """Sync-only shutdown: refuse new lookups and close the sync client (async: aclose)."""
        with self._lock:
            self._closed, self._fresh = True, (None, 0.0)
        if self._client is not None:
            self._client.close()

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the fetch under way to land; True when none is left.

        For graceful shutdown and tests. Do not call it from the event loop thread that runs an
        async fetch: it blocks that loop.
        """
        with self._lock:
            flight = self._flight
        return flight is None or flight.done.wait(timeout)

    def __repr__(self) -> str:
        return f"RemoteJWKS({self._url!r})"

    # -- decisions (shared by both paths; called with no lock held) -----------------------------
    def _plan(
        self, kid: str | None, *, loop: asyncio.AbstractEventLoop | None
    ) -> tuple[_Act, KeySet | None, _Flight | None]:
        now = self._clock.monotonic()
        with self._lock:
            if self._closed:
                raise self._unavailable(now)
            keys = self._usable(now)
            flight = self._flight
            if flight is not None and now - flight.started >= self._options.cooldown:
                flight = None  # hung past the cooldown: let a new one start; seq keeps order
            if keys is not None and (kid is None or keys.get(kid) is not None):
                if now >= self._refresh_at and flight is None and self._may_start(now):
                    return _Act.USE_AND_REFRESH, keys, self._start(now, loop)
                return _Act.USE, keys, None
            if flight is not None:
                return _Act.WAIT, keys, flight
            if self._may_start(now):
                return _Act.FETCH, keys, self._start(now, loop)
            if keys is not None:  # unknown kid inside the cooldown: the caller says unknown_key
                return _Act.USE, keys, None
            raise self._unavailable(now)

    def _may_start(self, now: float) -> bool:
        return self._last_start is None or now - self._last_start >= self._options.cooldown

    def _start(self, now: float, loop: asyncio.AbstractEventLoop | None) -> _Flight:
        self._started_seq += 1
        self._fetches += 1
        self._last_start = now
        self._flight = _Flight(self._started_seq, now, loop)
        return self._flight

    def _usable(self, now: float) -> KeySet | None:
        if self._keys is None or now >= self._expires_at + self._options.max_stale:
            return None
        return self._keys

    def _settle(self) -> KeySet:
        now = self._clock.monotonic()
        with self._lock:
            keys = self._usable(now)
            if keys is None:
                raise self._unavailable(now)
            return keys

    def _unavailable(self, now: float) -> AuthError:
        if self._closed:
            reason = "the key source is closed"
        elif self._keys is not None:
            expired = now - self._expires_at
            reason = f"the last good keys expired {expired:.0f}s ago and refreshing failed"
        else:
            reason = "no keys loaded yet"
        if self._last_error:
            reason += f": {self._last_error}"
        retry = None
        if self._last_start is not None and not self._closed:
            retry = max(0.0, self._last_start + self._options.cooldown - now)
            reason += f" (next attempt in {retry:.0f}s)" if retry > 0 else ""
        return AuthError(
            ErrorCode.JWKS_UNAVAILABLE,
            f"JWKS {self._url} unavailable: {reason}",
            retry_after=retry or None,
            extra={"jwks_uri": self._url},
        )

    def _land(self, flight: _Flight, result: Response | FetchError) -> None:
        """Record a fetch outcome; only a result newer than the one held replaces it."""
        try:
            if isinstance(result, FetchError):
                raise result
            keys = _key_set(json_object(result))
            ttl = ttl_from_headers(result.headers, self._options)
        except Exception as exc:  # noqa: BLE001 - any bad answer is a failed fetch, never a crash
            if not isinstance(exc, FetchError):
                exc = FetchError(f"unusable response ({type(exc).__name__})")
            with self._lock:
                self._failures += 1
                if flight.seq > self._landed_seq:
                    self._last_error = exc.reason
                had_keys = self._keys is not None
            log = logger.warning if had_keys else logger.error
            log("JWKS fetch from %s failed: %s", self._url, exc.reason)
            return
        now = self._clock.monotonic()
        with self._lock:
            if flight.seq <= self._landed_seq or self._closed:
                return  # a newer fetch already landed (this slow one is old news), or closing
            self._keys, self._landed_seq, self._last_error = keys, flight.seq, None
            self._loaded_at = now
            self._refresh_at = now + ttl * (1 - self._options.refresh_ahead)
            self._expires_at = now + ttl
            self._fresh = (keys, self._refresh_at)
        logger.info("JWKS %s loaded: kids=%s ttl=%.0fs", self._url, sorted(keys.kids), ttl)

    # -- IO ----------------------------------------------------------------------------------------
    def _fetch(self, flight: _Flight) -> None:
        try:
            with self._lock:
                self._client = self._client or sync_client(self._transport, self._options.timeout)
            result: Response | FetchError = get_capped(self._client, self._url, **self._limits)
        except Exception as exc:  # noqa: BLE001 - a background thread must always land its flight
            result = _failure(exc)
        self._finish(flight, result)

    async def _afetch(self, flight: _Flight) -> None:
        try:
            self._aclient = self._aclient or async_client(
                self._async_transport, self._options.timeout
            )
            result: Response | FetchError = await aget_capped(
                self._aclient, self._url, **self._limits
            )
        except asyncio.CancelledError:
            self._finish(flight, FetchError("fetch cancelled (key source closing)"))
            raise
        except Exception as exc:  # noqa: BLE001 - waiters must always be released
            result = _failure(exc)
        self._finish(flight, result)

    def _finish(self, flight: _Flight, result: Response | FetchError) -> None:
        try:
            self._land(flight, result)
        finally:
            self._release(flight)

    def _release(self, flight: _Flight) -> None:
        with self._lock:
            if self._flight is flight:
                self._flight = None
        flight.done.set()


def _failure(exc: Exception) -> FetchError:
    return exc if isinstance(exc, FetchError) else FetchError(f"unexpected {exc!r}")


def _key_set(doc: dict[str, object]) -> KeySet:
    try:
        keys = KeySet.from_jwks(doc)
    except KeyImportError as exc:
        raise FetchError(f"not a JWKS: {exc}") from None
    if not keys.keys:
        skipped = "; ".join(f"{kid}: {why}" for kid, why in keys.skipped[:3])
        raise FetchError("the JWKS has no usable keys" + (f" ({skipped})" if skipped else ""))
    return keys
