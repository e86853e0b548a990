"""Group cache (TTL, negative TTL stretched by Retry-After, bound, single flight) and the
group → privilege map, with look-ups served by the dev IdP's Management API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest
from prometheus_client import generate_latest
from tests.support.idp_server import ServedIdP

from authgate.clock import ManualClock
from authgate.errors import AuthError, ErrorCode
from authgate.okta.errors import OktaError
from authgate.okta.groups import GroupCache, PrivilegeMap
from authgate.okta.management import ManagementClient, SSWSAuth
from authgate.okta.metrics import OktaMetrics
from authgate.okta.transport import ResilientTransport

GROUPS = "/api/v1/users/*/groups"


def _calls(served: ServedIdP) -> int:
    return len(served.idp.request_log.records(path="/groups"))


@pytest.mark.anyio
async def test_ttl_and_single_flight(
    served: ServedIdP, transport: ResilientTransport, clock: ManualClock, metrics: OktaMetrics
) -> None:
    async with ManagementClient(served.url, SSWSAuth("dev-ssws-token"), transport=transport) as api:

        async def names(user: str) -> Iterable[str]:
            return [g.name for g in await api.user_groups(user)]

        cache = GroupCache(names, clock=clock, metrics=metrics)
        results = await asyncio.gather(*(cache.groups("alice@example.com") for _ in range(20)))
        assert all(set(r) == {"Everyone", "Network-Admins"} for r in results)
        assert _calls(served) == 1
        assert await cache.groups("ALICE@example.com") == results[0]  # logins are case-insensitive
        clock.advance(1799)
        await cache.groups("alice@example.com")
        assert _calls(served) == 1
        clock.advance(2)
        await cache.groups("alice@example.com")
        assert _calls(served) == 2
    await transport.aclose()
    text = generate_latest(metrics.registry).decode()
    assert 'okta_group_cache_hits_total{outcome="positive"} 2.0' in text
    assert 'okta_group_cache_misses_total{outcome="expired"} 1.0' in text
    assert 'okta_group_requests_total{outcome="ok"} 2.0' in text


@pytest.mark.anyio
async def test_negative_ttl_and_retry_after_stretch(
    served: ServedIdP, make_transport: object, clock: ManualClock, metrics: OktaMetrics
) -> None:
    transport = make_transport(retry={"retries": 0})  # type: ignore[operator]
    async with ManagementClient(served.url, SSWSAuth("dev-ssws-token"), transport=transport) as api:

        async def names(user: str) -> Iterable[str]:
            return [g.name for g in await api.user_groups(user)]

        cache = GroupCache(names, clock=clock, metrics=metrics, negative_ttl=60)
        with pytest.raises(OktaError) as missing:
            await cache.groups("nobody@example.com")
        assert missing.value.code is ErrorCode.OKTA_NOT_FOUND
        with pytest.raises(OktaError):
            await cache.groups("nobody@example.com")  # remembered: no second request
        assert _calls(served) == 1
        clock.advance(61)
        with pytest.raises(OktaError):
            await cache.groups("nobody@example.com")
        assert _calls(served) == 2

        served.idp.faults.add(GROUPS, status=429, headers={"Retry-After": "300"})
        with pytest.raises(OktaError) as limited:
            await cache.groups("bob@example.com")
        assert limited.value.code is ErrorCode.OKTA_RATE_LIMITED
        assert limited.value.retry_after == 300
        clock.advance(120)  # past the 60 s negative TTL but inside Okta's Retry-After
        with pytest.raises(OktaError):
            await cache.groups("bob@example.com")
        assert _calls(served) == 3
        clock.advance(181)
        assert "Operators" in await cache.groups("bob@example.com")
    await transport.aclose()  # type: ignore[attr-defined]
    assert (
        'okta_group_cache_hits_total{outcome="negative"} 2.0'
        in generate_latest(metrics.registry).decode()
    )


@pytest.mark.anyio
async def test_bounded_size(clock: ManualClock, metrics: OktaMetrics) -> None:
    calls: list[str] = []

    async def fetch(user: str) -> Iterable[str]:
        calls.append(user)
        return [f"g-{user}"]

    cache = GroupCache(fetch, clock=clock, metrics=metrics, max_entries=3)
    for user in ("a", "b", "c", "a", "d"):  # "a" was used recently, so "b" is evicted
        await cache.groups(user)
    assert len(cache) == 3
    await cache.groups("a")
    await cache.groups("b")
    assert calls == ["a", "b", "c", "d", "b"]


def test_privilege_map() -> None:
    mapping = PrivilegeMap({"Network-Admins": 15, "operators": 7, "OPERATORS": 5, "Users": 1})
    assert mapping.level(["everyone", "OPERATORS"]) == 7  # duplicates by case keep the highest
    assert mapping.level(["users", "network-admins", "Operators"]) == 15
    assert mapping.level(["Everyone"]) is None
    assert PrivilegeMap({"a": 1}, default=0).level([]) == 0
    strict = PrivilegeMap({"a": 1}, require_mapped=True)
    assert strict.level(["A"]) == 1
    with pytest.raises(AuthError) as refused:
        strict.level(["Everyone"])
    assert refused.value.code is ErrorCode.PRIVILEGE_TOO_LOW
    assert refused.value.status == 403
