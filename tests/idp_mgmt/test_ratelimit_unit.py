"""Rate-limit middleware (okta-wire §5.5) around a tiny ASGI app: windows, families, concurrency."""

from __future__ import annotations

import asyncio
from email.utils import parsedate_to_datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from authgate.clock import ManualClock
from authgate.idp.config import RateLimitConfig
from authgate.idp.ratelimit import (
    RateLimiter,
    RateLimitMiddleware,
    RateLimitRule,
    RateLimitSettings,
)

START = 1_700_000_000.0


def _app(gate: asyncio.Event | None = None) -> Starlette:
    async def ok(request: Request) -> Response:
        if gate is not None and request.url.path == "/api/v1/slow":
            await gate.wait()
        return JSONResponse({"path": request.url.path})

    return Starlette(routes=[Route("/{path:path}", ok, methods=["GET", "POST"])])


def _client(limiter: RateLimiter, gate: asyncio.Event | None = None) -> httpx.AsyncClient:
    app = RateLimitMiddleware(_app(gate), limiter)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://idp.test")


def _limiter(*rules: RateLimitRule, clock: ManualClock | None = None) -> RateLimiter:
    return RateLimiter(RateLimitSettings(rules=rules), clock or ManualClock(START))


@pytest.mark.anyio
async def test_headers_count_down_then_429_with_okta_body_and_date() -> None:
    limiter = _limiter(RateLimitRule(family="users", path="/api/v1/users*", limit=3))
    async with _client(limiter) as client:
        seen = [(await client.get("/api/v1/users")).headers for _ in range(3)]
        assert [h["x-rate-limit-remaining"] for h in seen] == ["2", "1", "0"]
        assert {h["x-rate-limit-limit"] for h in seen} == {"3"}
        assert {h["x-rate-limit-reset"] for h in seen} == {str(int(START) + 60)}
        refused = await client.get("/api/v1/users/00u1")
    assert refused.status_code == 429
    body = refused.json()
    assert body["errorCode"] == "E0000047"
    assert body["errorSummary"] == "API call exceeded rate limit due to too many requests."
    assert body["errorLink"] == "E0000047"
    assert body["errorId"].startswith("oae")
    assert len(body["errorId"]) == 25
    assert body["errorCauses"] == []
    assert refused.headers["x-rate-limit-limit"] == "3"
    assert refused.headers["x-rate-limit-remaining"] == "0"
    assert refused.headers["x-rate-limit-reset"] == str(int(START) + 60)
    assert refused.headers["x-okta-request-id"].startswith("req")
    # Date comes from the IdP clock, so reset − Date is what Okta's SDK would sleep.
    assert parsedate_to_datetime(refused.headers["date"]).timestamp() == START


@pytest.mark.anyio
async def test_window_reopens_when_the_clock_passes_reset() -> None:
    clock = ManualClock(START)
    limiter = _limiter(RateLimitRule(family="users", path="/api/v1/users*", limit=1), clock=clock)
    async with _client(limiter) as client:
        assert (await client.get("/api/v1/users")).status_code == 200
        assert (await client.get("/api/v1/users")).status_code == 429
        clock.advance(59)
        assert (await client.get("/api/v1/users")).status_code == 429
        clock.advance(1)
        again = await client.get("/api/v1/users")
    assert again.status_code == 200
    assert again.headers["x-rate-limit-remaining"] == "0"
    assert again.headers["x-rate-limit-reset"] == str(int(START) + 120)


@pytest.mark.anyio
async def test_families_and_methods_have_separate_buckets() -> None:
    limiter = _limiter(
        RateLimitRule(family="users", path="/api/v1/users*", limit=1),
        RateLimitRule(family="groups", path="/api/v1/groups*", limit=5),
        RateLimitRule(family="user-groups", path="/api/v1/users/*/groups", limit=2),
    )
    async with _client(limiter) as client:
        assert (await client.get("/api/v1/users")).status_code == 200
        assert (await client.get("/api/v1/users")).status_code == 429
        assert (await client.post("/api/v1/users")).status_code == 200  # POST: its own bucket
        groups = await client.get("/api/v1/groups")
        exact = await client.get("/api/v1/users/00u1/groups")  # more specific than users*
    assert groups.headers["x-rate-limit-limit"] == "5"
    assert exact.status_code == 200
    assert exact.headers["x-rate-limit-limit"] == "2"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path",
    [
        "/oauth2/v1/keys",
        "/oauth2/default/v1/keys",
        "/.well-known/openid-configuration",
        "/oauth2/default/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/oauth2/default",
    ],
)
async def test_metadata_is_exempt(path: str) -> None:
    limiter = RateLimiter(RateLimitSettings(rules=(), default_limit=1), ManualClock(START))
    async with _client(limiter) as client:
        answers = [await client.get(path) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all("x-rate-limit-limit" not in a.headers for a in answers)


@pytest.mark.anyio
async def test_unmatched_paths_use_the_default_bucket() -> None:
    limiter = RateLimiter(RateLimitSettings(rules=(), default_limit=2), ManualClock(START))
    async with _client(limiter) as client:
        first = await client.get("/api/v1/anything")
        await client.get("/api/v1/anything")
        third = await client.get("/api/v1/anything")
    assert first.headers["x-rate-limit-limit"] == "2"
    assert third.status_code == 429


@pytest.mark.anyio
async def test_concurrency_refusal_has_limit_and_remaining_zero() -> None:
    gate = asyncio.Event()
    limiter = _limiter(RateLimitRule(family="slow", path="/api/v1/slow", limit=100, concurrency=1))
    async with _client(limiter, gate) as client:
        first = asyncio.create_task(client.get("/api/v1/slow"))
        for _ in range(1000):  # bounded: wait until the first request is inside the app
            if limiter.in_flight("GET", "/api/v1/slow"):
                break
            await asyncio.sleep(0)
        refused = await client.get("/api/v1/slow")
        gate.set()
        done = await first
        after = await client.get("/api/v1/slow")
    assert refused.status_code == 429
    assert refused.json()["errorCode"] == "E0000047"
    assert refused.headers["x-rate-limit-limit"] == "0"
    assert refused.headers["x-rate-limit-remaining"] == "0"
    assert refused.headers["x-rate-limit-reset"] == str(int(START) + 1)
    assert done.status_code == 200
    assert after.status_code == 200  # the slot was released


def test_settings_from_idp_config_prefixes() -> None:
    settings = RateLimitSettings.from_config(
        [RateLimitConfig(family="apps", path_prefix="/api/v1/apps", per_minute=7, concurrency=3)]
    )
    limiter = RateLimiter(settings, ManualClock(START))
    rule = limiter.rule_for("GET", "/api/v1/apps/0oa1")
    assert rule is not None
    assert (rule.family, rule.limit, rule.concurrency) == ("apps", 7, 3)
    assert RateLimitSettings.from_config([]) == RateLimitSettings()


@pytest.mark.anyio
async def test_disabled_limiter_passes_through_and_reset_all_forgets_counts() -> None:
    off = RateLimiter(RateLimitSettings(enabled=False, default_limit=1), ManualClock(START))
    async with _client(off) as client:
        answers = [await client.get("/x") for _ in range(3)]
    assert all(a.status_code == 200 and "x-rate-limit-limit" not in a.headers for a in answers)
    on = RateLimiter(RateLimitSettings(rules=(), default_limit=1), ManualClock(START))
    async with _client(on) as client:
        assert (await client.get("/x")).status_code == 200
        assert (await client.get("/x")).status_code == 429
        on.reset_all()
        assert (await client.get("/x")).status_code == 200
