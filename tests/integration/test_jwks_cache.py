"""RemoteJWKS against a real loopback server: TTL, refresh-ahead, rotation, kid storms, outages.

Time moves only through ManualClock; the only real waits are for the server's deliberate delays
(kept short) and for fetches to land (``drain``/``wait_for_requests``, both bounded).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from tests.support.jwks_server import JWKSServer, ec_jwk

from authgate.clock import ManualClock
from authgate.errors import AuthError, ConfigError, ErrorCode
from authgate.jose.jwks import JWKSOptions, RemoteJWKS, ttl_from_headers

K1, K2, K3 = ec_jwk("k1"), ec_jwk("k2"), ec_jwk("k3")


@pytest.fixture
def srv() -> Iterator[JWKSServer]:
    with JWKSServer() as server:
        server.set_keys([K1], cache_control="max-age=300")
        yield server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


_opened: list[RemoteJWKS] = []


@pytest.fixture(autouse=True)
def _close_sources() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()  # async tests also aclose() themselves, in their loop


def remote(srv: JWKSServer, clock: ManualClock, **options: float) -> RemoteJWKS:
    src = RemoteJWKS(srv.jwks_url, options=JWKSOptions(**options), clock=clock)  # type: ignore[arg-type]
    _opened.append(src)
    return src


def unavailable(exc: pytest.ExceptionInfo[AuthError]) -> str:
    assert exc.value.code is ErrorCode.JWKS_UNAVAILABLE
    assert exc.value.status == 503
    return exc.value.detail


# -- TTL from Cache-Control -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "ttl"),
    [
        ({"cache-control": "max-age=600"}, 600),
        ({"cache-control": "public, max-age=3293198, must-revalidate"}, 86400),  # Okta: clamped
        ({"cache-control": "max-age=5"}, 60),
        ({"cache-control": "max-age=0"}, 60),
        ({"cache-control": "no-cache"}, 60),
        ({"cache-control": "no-store, max-age=900"}, 60),
        ({"cache-control": "max-age=900", "age": "100"}, 800),
        ({"cache-control": "max-age=abc"}, 300),
        ({"cache-control": "max-age=-5"}, 300),
        ({}, 300),
    ],
)
def test_ttl_from_cache_control(headers: dict[str, str], ttl: float) -> None:
    assert ttl_from_headers(httpx.Headers(headers), JWKSOptions()) == ttl


def test_cache_lasts_max_age_then_refreshes(srv: JWKSServer, clock: ManualClock) -> None:
    srv.set_keys([K1], cache_control="max-age=600")
    src = remote(srv, clock, refresh_ahead=0)
    assert src.get("k1").kids == {"k1"}
    assert src.status().expires_in == 600
    clock.advance(599)
    assert src.get("k1").kids == {"k1"}
    assert srv.fetch_count == 1  # still fresh: no request
    srv.set_keys([K1, K2], cache_control="max-age=600")
    clock.advance(2)
    assert src.get("k1").kids == {"k1"}  # expired: answered from cache, refreshed behind
    assert src.drain(5)
    assert srv.fetch_count == 2
    current = src.current()
    assert current is not None
    assert current.kids == {"k1", "k2"}


def test_no_cache_header_means_min_ttl(srv: JWKSServer, clock: ManualClock) -> None:
    srv.set_keys([K1], cache_control="no-cache, no-store")
    src = remote(srv, clock, min_ttl=60, refresh_ahead=0)
    src.get("k1")
    assert src.status().expires_in == 60
    clock.advance(59)
    src.get("k1")
    assert srv.fetch_count == 1  # no-cache never means "fetch on every request"


def test_missing_header_uses_default_ttl(srv: JWKSServer, clock: ManualClock) -> None:
    srv.set_keys([K1], cache_control=None)
    src = remote(srv, clock, default_ttl=120)
    src.get(None)
    assert src.status().expires_in == 120


# -- refresh-ahead ----------------------------------------------------------------------------
def test_refresh_ahead_runs_in_background_sync(srv: JWKSServer, clock: ManualClock) -> None:
    srv.set_keys([K1], cache_control="max-age=100")
    src = remote(srv, clock, refresh_ahead=0.2)
    src.get("k1")
    clock.advance(79)
    src.get("k1")
    assert srv.fetch_count == 1  # not yet in the refresh window
    srv.set_keys([K1, K2], cache_control="max-age=100")
    gate = srv.hold()
    assert src.current() is not None
    clock.advance(2)
    assert src.current() is None  # refresh due: a verifier's fast path must defer to get()
    keys = src.get("k1")  # returns although the server holds the refresh response
    assert keys.kids == {"k1"}
    assert srv.wait_for_requests(2)
    assert srv.served() == 1  # the refresh is still in flight
    assert src.get("k1").kids == {"k1"}  # a second lookup joins nothing and waits for nothing
    gate.set()
    assert src.drain(5)
    assert srv.fetch_count == 2
    fresh = src.current()
    assert fresh is not None
    assert fresh.kids == {"k1", "k2"}
    assert src.get("k2") is fresh
    assert srv.fetch_count == 2


@pytest.mark.anyio
async def test_refresh_ahead_runs_in_background_async(srv: JWKSServer, clock: ManualClock) -> None:
    srv.set_keys([K1], cache_control="max-age=100")
    src = remote(srv, clock)
    await src.aget("k1")
    srv.set_keys([K1, K2], cache_control="max-age=100")
    gate = srv.hold()
    clock.advance(85)
    results = await asyncio.gather(*(src.aget("k1") for _ in range(100)))
    assert all(r.kids == {"k1"} for r in results)  # answered while the refresh is held
    assert await asyncio.to_thread(srv.wait_for_requests, 2)
    assert srv.served() == 1
    gate.set()
    assert await asyncio.to_thread(src.drain, 5)
    assert srv.fetch_count == 2  # one background refresh for 100 lookups
    assert (await src.aget("k2")).kids == {"k1", "k2"}
    await src.aclose()


# -- rotation ---------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_rotation_has_zero_failed_lookups_async(srv: JWKSServer, clock: ManualClock) -> None:
    src = remote(srv, clock)
    assert (await src.aget("k1")).kids == {"k1"}
    clock.advance(31)  # past the cooldown, well inside the 300 s TTL
    srv.set_keys([K1, K2])  # the IdP publishes the new key and starts signing with it
    srv.delay = 0.2  # so every lookup below overlaps the one fetch
    lookups = [src.aget("k2") for _ in range(500)] + [src.aget("k1") for _ in range(500)]
    results = await asyncio.gather(*lookups)
    assert srv.fetch_count == 2
    assert all(r.get("k2") is not None for r in results[:500])  # new kid: all found
    assert all(r.get("k1") is not None for r in results[500:])  # old kid: still served
    srv.delay = 0
    srv.set_keys([K2])  # old key retired at the IdP
    assert (await src.aget("k1")).get("k1") is not None  # cached until the TTL says otherwise
    clock.advance(300)
    assert (await src.aget("k2")).get("k2") is not None
    assert await asyncio.to_thread(src.drain, 5)
    assert srv.fetch_count == 3
    assert (await src.aget("k1")).get("k1") is None  # gone: the verifier answers unknown_key
    assert srv.fetch_count == 3  # ...inside the cooldown, without another fetch
    await src.aclose()


def test_rotation_has_zero_failed_lookups_threads(srv: JWKSServer, clock: ManualClock) -> None:
    src = remote(srv, clock)
    src.get("k1")
    clock.advance(31)
    srv.set_keys([K1, K2])
    srv.delay = 0.2
    barrier = threading.Barrier(32)

    def lookup(i: int) -> bool:
        barrier.wait(5)
        kid = "k2" if i % 2 else "k1"
        return src.get(kid).get(kid) is not None

    with ThreadPoolExecutor(32) as pool:
        found = list(pool.map(lookup, range(32)))
    assert all(found)
    assert srv.fetch_count == 2


@pytest.mark.anyio
async def test_sync_and_async_callers_share_one_fetch(srv: JWKSServer, clock: ManualClock) -> None:
    src = remote(srv, clock)
    await src.aget("k1")
    clock.advance(31)
    srv.set_keys([K1, K2])
    srv.delay = 0.3
    in_threads = [asyncio.to_thread(src.get, "k2") for _ in range(8)]
    in_loop = [src.aget("k2") for _ in range(200)]
    results = await asyncio.gather(*in_threads, *in_loop)
    assert all(r.get("k2") is not None for r in results)
    assert srv.fetch_count == 2  # whichever side started it, the other side waited for it
    await src.aclose()


# -- unknown-kid storms -------------------------------------------------------------------------
@pytest.mark.anyio
async def test_random_kid_storm_async_one_fetch_per_cooldown(
    srv: JWKSServer, clock: ManualClock
) -> None:
    src = remote(srv, clock, cooldown=30)
    storm = [src.aget(secrets.token_hex(8)) for _ in range(1000)]
    results = await asyncio.gather(*storm)  # cold cache: they all share the first load
    assert srv.fetch_count == 1
    assert all(r.kids == {"k1"} for r in results)
    clock.advance(31)
    await asyncio.gather(*(src.aget(secrets.token_hex(8)) for _ in range(1000)))
    assert srv.fetch_count == 2
    clock.advance(29)
    await asyncio.gather(*(src.aget(secrets.token_hex(8)) for _ in range(1000)))
    assert srv.fetch_count == 2  # negative answers inside the cooldown
    clock.advance(1)
    await asyncio.gather(*(src.aget(secrets.token_hex(8)) for _ in range(1000)))
    assert srv.fetch_count == 3
    assert src.status().fetches == 3
    await src.aclose()


def test_random_kid_storm_threads_one_fetch_per_cooldown(
    srv: JWKSServer, clock: ManualClock
) -> None:
    src = remote(srv, clock, cooldown=30)
    src.get("k1")
    clock.advance(31)
    srv.delay = 0.1
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: src.get(secrets.token_hex(8)), range(1000)))
    assert srv.fetch_count == 2
    assert all(r.kids == {"k1"} for r in results)


# -- sequence guard -----------------------------------------------------------------------------
def test_slow_old_fetch_never_overwrites_newer_keys(srv: JWKSServer, clock: ManualClock) -> None:
    src = remote(srv, clock, cooldown=30)
    src.get("k1")
    clock.advance(31)
    srv.set_keys([K1, K2])
    gate = srv.hold()
    slow = threading.Thread(target=src.get, args=("k2",))
    slow.start()  # fetch #2 asks now; its answer [k1, k2] is held
    assert srv.wait_for_requests(2)
    srv.stop_holding()
    srv.set_keys([K3])
    clock.advance(31)  # fetch #2 now looks hung: a new fetch may start
    assert src.get("k3").kids == {"k3"}  # fetch #3 lands first
    gate.set()
    slow.join(5)
    assert not slow.is_alive()
    assert srv.served() == 3  # the slow answer did arrive...
    current = src.current()
    assert current is not None
    assert current.kids == {"k3"}  # ...and was discarded as old news


# -- outages ------------------------------------------------------------------------------------
def test_outage_serves_stale_keys_until_max_stale(srv: JWKSServer, clock: ManualClock) -> None:
    srv.set_keys([K1], cache_control="max-age=60")
    src = remote(srv, clock, max_stale=600)
    src.get("k1")
    srv.fail_with(503)
    clock.advance(61)
    assert src.get("k1").kids == {"k1"}  # expired but good; refresh fails in background
    assert src.drain(5)
    status = src.status()
    assert (status.stale, status.failures, status.last_error) == (True, 1, "HTTP 503")
    for _ in range(10):  # ten more cooldowns of outage: keys kept, retries paced
        clock.advance(59)
        assert src.get("k1").get("k1") is not None
        assert src.drain(5)
    assert srv.fetch_count == 12  # first load + 11 paced retries
    clock.advance(60 + 600 - 61 - 590)  # exactly at expiry + max_stale
    with pytest.raises(AuthError) as exc:
        src.get("k1")
    detail = unavailable(exc)
    assert srv.jwks_url in detail
    assert "HTTP 503" in detail
    assert "expired" in detail
    assert src.current() is None
    srv.fail_with(None)
    clock.advance(31)
    assert src.get("k1").kids == {"k1"}  # recovers on the next permitted attempt
    assert src.status().last_error is None


def test_first_load_failure_is_unavailable_and_paced(srv: JWKSServer, clock: ManualClock) -> None:
    srv.fail_with(500)
    src = remote(srv, clock, cooldown=30)
    with pytest.raises(AuthError) as exc:
        src.get("k1")
    assert "HTTP 500" in unavailable(exc)
    with pytest.raises(AuthError) as again:
        src.get("k1")
    assert again.value.retry_after == 30
    assert srv.fetch_count == 1  # a down IdP is not hammered
    srv.fail_with(None)
    clock.advance(30)
    assert src.get("k1").kids == {"k1"}


def test_slow_idp_times_out_on_first_load(srv: JWKSServer, clock: ManualClock) -> None:
    srv.delay = 5.0  # cut short when the server stops, so it costs the suite nothing
    src = remote(srv, clock, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(AuthError) as exc:
        src.get("k1")
    assert time.monotonic() - started < 3.0  # gave up long before the answer
    assert "timed out after 0.2s" in unavailable(exc)


@pytest.mark.anyio
async def test_slow_idp_keeps_stale_keys_on_refresh(srv: JWKSServer, clock: ManualClock) -> None:
    src = remote(srv, clock, timeout=0.2)
    await src.aget("k1")
    srv.delay = 5.0
    clock.advance(301)
    assert (await src.aget("k1")).kids == {"k1"}
    assert await asyncio.to_thread(src.drain, 5)
    status = src.status()
    assert status.last_error is not None
    assert "timed out" in status.last_error
    assert (await src.aget("k1")).kids == {"k1"}
    await src.aclose()


# -- bad documents -------------------------------------------------------------------------------
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversized_jwks_refused(srv: JWKSServer, clock: ManualClock, chunked: bool) -> None:
    srv.set_body(b'{"keys": [], "pad": "' + b"x" * 100_000 + b'"}', chunked=chunked)
    src = remote(srv, clock, max_bytes=32 * 1024)
    with pytest.raises(AuthError) as exc:
        src.get("k1")
    assert "too large" in unavailable(exc)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>maintenance</html>", "not a JSON document"),
        (b'["k1"]', "not a JSON document"),
        (b'{"keys": [], "keys": [1]}', "duplicate member"),
        (b'{"issuer": "https://idp"}', "not a JWKS"),
        (b'{"keys": [{"kty": "EC", "kid": "bad", "crv": "P-521"}]}', "no usable keys"),
    ],
)
def test_bad_documents_refused(
    srv: JWKSServer, clock: ManualClock, body: bytes, reason: str
) -> None:
    srv.set_body(body)
    src = remote(srv, clock)
    with pytest.raises(AuthError) as exc:
        src.get("k1")
    assert reason in unavailable(exc)


def test_bad_document_never_replaces_good_keys(srv: JWKSServer, clock: ManualClock) -> None:
    src = remote(srv, clock)
    src.get("k1")
    srv.set_body(b'{"keys": "nope"}')
    clock.advance(31)
    assert src.get("k9").kids == {"k1"}  # unknown-kid refetch got junk: keep what we had
    assert src.status().last_error is not None


def test_redirect_not_followed(srv: JWKSServer, clock: ManualClock) -> None:
    src = RemoteJWKS(srv.url + "/nowhere", clock=clock)
    with pytest.raises(AuthError) as exc:
        src.get("k1")
    src.close()
    assert "HTTP 404" in unavailable(exc)


# -- URL policy ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    ["http://idp.example.com/keys", "http://10.0.0.1/keys", "ftp://idp.example.com/keys",
     "/keys", "https://user:pw@idp.example.com/keys", "not a url"],
)  # fmt: skip
def test_url_refused_at_construction(url: str) -> None:
    with pytest.raises(ConfigError) as exc:
        RemoteJWKS(url)
    assert exc.value.setting == "jwks_uri"


def test_plain_http_names_tls() -> None:
    with pytest.raises(ConfigError, match="TLS required"):
        RemoteJWKS("http://idp.example.com/keys")


@pytest.mark.parametrize(
    "url",
    ["https://idp.example.com/keys", "http://127.0.0.1:9/keys", "http://127.8.9.10/keys",
     "http://[::1]:9/keys", "http://localhost:9/keys"],
)  # fmt: skip
def test_url_accepted(url: str) -> None:
    assert RemoteJWKS(url).url == url


def test_dev_flag_allows_plain_http() -> None:
    src = RemoteJWKS("http://idp.internal/keys", options=JWKSOptions(allow_insecure_http=True))
    assert src.url == "http://idp.internal/keys"


# -- lifecycle -----------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_aclose_cancels_background_refresh(srv: JWKSServer, clock: ManualClock) -> None:
    src = remote(srv, clock)
    await src.aget("k1")
    srv.hold()
    clock.advance(290)
    await src.aget("k1")  # starts a background refresh the server holds
    assert await asyncio.to_thread(srv.wait_for_requests, 2)
    started = time.monotonic()
    await src.aclose()
    assert time.monotonic() - started < 5.0  # did not wait for the held (10 s) response
    assert src.drain(0)
    with pytest.raises(AuthError) as exc:
        await src.aget("k1")
    assert "closed" in unavailable(exc)


@pytest.mark.anyio
async def test_status_introspection(srv: JWKSServer, clock: ManualClock) -> None:
    src = remote(srv, clock)
    assert src.current() is None
    assert src.status().loaded is False
    await src.aget(None)
    clock.advance(10)
    status = src.status()
    assert (status.source, status.loaded, status.kids) == (srv.jwks_url, True, ("k1",))
    assert (status.age, status.expires_in, status.stale) == (10, 290, False)
    assert (status.fetches, status.failures, status.last_error) == (1, 0, None)
    await src.aclose()


def test_options_validated() -> None:
    with pytest.raises(ConfigError):
        JWKSOptions(min_ttl=600, max_ttl=60)
    with pytest.raises(ConfigError):
        JWKSOptions(refresh_ahead=1.5)


@pytest.mark.parametrize(
    "max_age", ["max-age=" + "9" * 400, "max-age=\u00b2", "max-age=" + "1" * 5000]
)
def test_hostile_cache_control_falls_back_to_default_ttl(max_age: str) -> None:
    """Review finding: such headers used to raise OverflowError/ValueError out of verify()."""
    headers = httpx.Headers({"cache-control": max_age.encode("utf-8")})
    assert ttl_from_headers(headers, JWKSOptions()) == 300
