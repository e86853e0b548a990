"""Okta client benchmark: cached-token cost and 100-caller single flight against the dev IdP.

Usage: ``python bench/client.py [-n N] [--windows W] [--callers C]``.
Targets (issue #5): cached-token path < 5 µs per call; 100 concurrent callers for one cache key
cause exactly one upstream token request per expiry window (asserted from the IdP request log).
Compared in the same run with authlib's httpx client-credentials client (``AsyncOAuth2Client``
with ``grant_type=client_credentials``); httpx-auth is not installed in this project, so it is
not part of the comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import Awaitable, Callable

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client

from authgate.clock import ManualClock
from authgate.idp.app import bind, make_server
from authgate.idp.config import IdPConfig
from authgate.idp.state import IdP
from authgate.okta import ClientCredentialsAuth, OktaTokenClient, TokenCache

SCOPE = "api:read"


def serve() -> tuple[IdP, Callable[[], None]]:
    idp = IdP(IdPConfig.default())
    sock = bind("127.0.0.1", 0)
    server = make_server(idp, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        sock.close()

    return idp, stop


def per_call(name: str, op: Callable[[], object], n: int) -> float:
    for _ in range(1000):
        op()
    runs = []
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(n):
            op()
        runs.append((time.perf_counter_ns() - start) / n / 1000)
    best = min(runs)
    print(f"  {name:<58} {best:8.3f} µs/call (median {statistics.median(runs):.3f})")
    return best


async def aper_call(name: str, op: Callable[[], Awaitable[object]], n: int) -> float:
    for _ in range(1000):
        await op()
    runs = []
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(n):
            await op()
        runs.append((time.perf_counter_ns() - start) / n / 1000)
    best = min(runs)
    print(f"  {name:<58} {best:8.3f} µs/call (median {statistics.median(runs):.3f})")
    return best


def token_posts(idp: IdP) -> int:
    return len(idp.request_log.records(path="/v1/token", grant_type="client_credentials"))


async def main(n: int, windows: int, callers: int) -> None:
    idp, stop = serve()
    app = idp.config.app("demo-service")
    assert app is not None
    assert app.client_secret
    token_url = idp.server("default").endpoint("token")
    clock = ManualClock(time.time())
    ours = OktaTokenClient(
        issuer=idp.server("default").issuer,
        client_id=app.client_id,
        client_secret=app.client_secret,
        cache=TokenCache(clock=clock),
        clock=clock,
    )
    auth = ClientCredentialsAuth(ours, [SCOPE])
    try:
        print("cached-token path (token already fetched; target < 5 µs):")
        auth.token()
        request = httpx.Request("GET", "https://api.example/resource")
        ours_sync = per_call("authgate ClientCredentialsAuth.token() (sync)", auth.token, n)
        await auth.atoken()
        ours_async = await aper_call(
            "authgate ClientCredentialsAuth.atoken() (async)", auth.atoken, n
        )
        per_call(
            "authgate auth flow: token + Authorization header",
            lambda: next(auth.sync_auth_flow(request)),
            n,
        )

        authlib_sync = OAuth2Client(
            app.client_id,
            app.client_secret,
            scope=SCOPE,
            token_endpoint=token_url,
            grant_type="client_credentials",
        )
        authlib_sync.fetch_token(token_url, grant_type="client_credentials")
        per_call(
            "authlib OAuth2Client.ensure_active_token() (sync)",
            lambda: authlib_sync.ensure_active_token(authlib_sync.token),
            n,
        )
        per_call(
            "authlib token auth flow: Authorization header",
            lambda: next(authlib_sync.token_auth.auth_flow(request)),
            n,
        )
        authlib_sync.close()
        async_authlib = AsyncOAuth2Client(
            app.client_id,
            app.client_secret,
            scope=SCOPE,
            token_endpoint=token_url,
            grant_type="client_credentials",
        )
        await async_authlib.fetch_token(token_url, grant_type="client_credentials")
        await aper_call(
            "authlib AsyncOAuth2Client.ensure_active_token() (async)",
            lambda: async_authlib.ensure_active_token(async_authlib.token),
            n,
        )

        print(
            f"\n{callers} concurrent callers, one cache key, {windows} expiry windows (target: 1 request/window):"
        )
        before = token_posts(idp)
        ours.cache.invalidate(auth.cache_key())
        calls = 0
        start = time.perf_counter()
        for _ in range(windows):

            async def caller() -> None:
                nonlocal calls
                for _ in range(200):
                    await auth.atoken()
                    calls += 1

            await asyncio.gather(*(caller() for _ in range(callers)))
            clock.advance(3600)  # the window's token has expired: the next call must refetch
        elapsed = time.perf_counter() - start
        ours_requests = token_posts(idp) - before
        print(f"  authgate: {calls} token calls in {elapsed:.3f} s = {calls / elapsed:,.0f} tokens/s; "
              f"upstream requests {ours_requests} for {windows} windows "
              f"({'OK' if ours_requests == windows else 'MISSED'})")  # fmt: skip

        before = token_posts(idp)
        calls = 0
        start = time.perf_counter()
        for _ in range(windows):
            async_authlib.token["expires_at"] = (
                int(time.time()) - 10
            )  # force one refresh per window

            async def authlib_caller() -> None:
                nonlocal calls
                for _ in range(200):
                    await async_authlib.ensure_active_token(async_authlib.token)
                    calls += 1

            await asyncio.gather(*(authlib_caller() for _ in range(callers)))
        elapsed = time.perf_counter() - start
        theirs = token_posts(idp) - before
        print(f"  authlib:  {calls} token calls in {elapsed:.3f} s = {calls / elapsed:,.0f} tokens/s; "
              f"upstream requests {theirs} for {windows} windows")  # fmt: skip
        await async_authlib.aclose()
        ok = ours_sync < 5 and ours_async < 5 and ours_requests == windows
        print(f"\nresult: cached path sync {ours_sync:.2f} µs / async {ours_async:.2f} µs; "
              f"single flight {'held' if ours_requests == windows else 'FAILED'} -> {'PASS' if ok else 'FAIL'}")  # fmt: skip
    finally:
        await ours.aclose()
        ours.close()
        stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="calls per timing run")
    parser.add_argument("--windows", type=int, default=5, help="expiry windows to simulate")
    parser.add_argument("--callers", type=int, default=100, help="concurrent callers")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.windows, args.callers))
