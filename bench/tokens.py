"""Service-token authentication and failure-limiter throughput (SQLite, PostgreSQL, Redis).

Usage: ``python bench/tokens.py [--pg-url URL] [--redis-url URL] [-n N]``; URLs default to
``AUTHGATE_TEST_PG_URL`` / ``AUTHGATE_TEST_REDIS_URL`` (``scripts/services start pg redis``).
Targets (issue #6): cached check < 5 µs; uncached on PostgreSQL < 1 ms; Redis limiter adds
< 0.5 ms p99 on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable

import psycopg

from authgate.authn.base import Credential
from authgate.authn.service_token import ServiceTokenAuthenticator
from authgate.limits.base import LimitConfig
from authgate.limits.memory import MemoryFailureLimiter
from authgate.limits.redis import RedisFailureLimiter
from authgate.service_tokens.admin import TokenAdmin
from authgate.service_tokens.store import TokenStore


async def measure(name: str, op: Callable[[], Awaitable[object]], n: int) -> None:
    for _ in range(min(n // 10, 200)):  # warm caches, connection pools, compiled statements
        await op()
    samples = []
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter_ns()
        await op()
        samples.append(time.perf_counter_ns() - t0)
    total = time.perf_counter() - start
    samples.sort()
    p50 = samples[len(samples) // 2] / 1000
    p99 = samples[int(len(samples) * 0.99)] / 1000
    mean = statistics.fmean(samples) / 1000
    print(
        f"{name:<42} {n / total:>10,.0f} ops/s  mean {mean:8.2f} µs  p50 {p50:8.2f} µs  p99 {p99:8.2f} µs"
    )


async def bench_store(label: str, url: str, n: int) -> None:
    store = TokenStore(url)
    await store.migrate()
    token, _ = await TokenAdmin(store).create(
        actor="bench", token_id=f"bench-{uuid.uuid4().hex[:8]}"
    )
    credential = Credential(token, client_ip="127.0.0.1")
    uncached = ServiceTokenAuthenticator(store, cache_size=0)
    cached = ServiceTokenAuthenticator(store, recheck_interval=3600)
    await measure(
        f"service token, {label}, cache off", lambda: uncached.authenticate(credential), n
    )
    await measure(
        f"service token, {label}, cache on", lambda: cached.authenticate(credential), n * 20
    )
    await store.aclose()


async def bench_limiters(redis_url: str | None, n: int) -> None:
    config = LimitConfig(ip_limit=1_000_000, identity_limit=1_000_000, interval=60)
    memory = MemoryFailureLimiter(config)
    await memory.record_failure(ip="192.0.2.1", identity="svc")
    await measure(
        "limiter check, in-process", lambda: memory.check(ip="192.0.2.1", identity="svc"), n * 20
    )
    if redis_url:
        redis = RedisFailureLimiter(config, redis_url, prefix=f"bench:{uuid.uuid4().hex}:")
        await redis.record_failure(ip="192.0.2.1", identity="svc")
        await measure(
            "limiter check, Redis", lambda: redis.check(ip="192.0.2.1", identity="svc"), n
        )
        await measure(
            "limiter record_failure, Redis",
            lambda: redis.record_failure(ip="192.0.2.2", identity="svc2"),
            n,
        )
        await redis.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get("AUTHGATE_TEST_PG_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("AUTHGATE_TEST_REDIS_URL"))
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await bench_store("SQLite", f"sqlite:///{tmp}/bench.db", args.n)
    if args.pg_url:
        name = f"ag_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            await bench_store("PostgreSQL", args.pg_url.rsplit("/", 1)[0] + "/" + name, args.n)
        finally:
            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await bench_limiters(args.redis_url, args.n)


if __name__ == "__main__":
    asyncio.run(main())
