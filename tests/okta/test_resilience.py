"""Retries, rate-limit waits, timeouts and the circuit breaker, against the dev IdP's faults."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import formatdate

import httpx
import pytest
from prometheus_client import generate_latest
from tests.okta.conftest import FakeSleeper, token_requests
from tests.support.idp_server import ServedIdP

from authgate.clock import ManualClock
from authgate.errors import ErrorCode
from authgate.okta.errors import OktaError
from authgate.okta.management import ManagementClient, SSWSAuth
from authgate.okta.resilience import AdaptiveLimiter, CircuitBreaker
from authgate.okta.token_client import OktaTokenClient
from authgate.okta.transport import ResilientTransport

MakeClient = Callable[..., OktaTokenClient]
TOKEN = "/oauth2/default/v1/token"
GROUPS = "/api/v1/users/*/groups"


def test_429_retry_after_is_honoured(
    served: ServedIdP, make_client: MakeClient, sleeper: FakeSleeper
) -> None:
    served.idp.faults.add(TOKEN, status=429, headers={"Retry-After": "7"})
    token = make_client("demo-service").client_credentials(["api:read"])
    assert token.access_token
    assert len(sleeper.calls) == 1
    assert 7 <= sleeper.calls[0] < 7.2
    assert token_requests(served, status=429) == 1
    assert token_requests(served, status=200) == 1


def test_429_with_rate_limit_reset_waits_until_reset_by_server_date(
    served: ServedIdP, make_client: MakeClient, sleeper: FakeSleeper, clock: ManualClock
) -> None:
    # The server's Date is 1000 s behind our clock: the wait must come from reset − Date (12 s),
    # not from reset − our clock (which would be negative).
    server_now = clock.time() - 1000
    headers = {
        "X-Rate-Limit-Reset": str(int(server_now) + 12),
        "Date": formatdate(server_now, usegmt=True),
    }
    served.idp.faults.add(TOKEN, status=429, headers=headers)
    make_client("demo-service").client_credentials(["api:read"])
    assert len(sleeper.calls) == 1
    assert 12 <= sleeper.calls[0] < 12.2


def test_429_asking_for_too_long_fails_fast_with_retry_after(
    served: ServedIdP,
    make_transport: Callable[..., ResilientTransport],
    make_client: MakeClient,
    sleeper: FakeSleeper,
) -> None:
    transport = make_transport(retry={"max_wait": 30})
    served.idp.faults.add(TOKEN, status=429, headers={"Retry-After": "600"})
    with pytest.raises(OktaError) as caught:
        make_client("demo-service", transport=transport).client_credentials(["api:read"])
    assert caught.value.code is ErrorCode.OKTA_RATE_LIMITED
    assert caught.value.retry_after == 600
    assert sleeper.calls == []


def test_503_burst_on_token_post_is_retried_with_backoff(
    served: ServedIdP, make_client: MakeClient, sleeper: FakeSleeper
) -> None:
    served.idp.faults.add(TOKEN, status=503, count=3)
    assert make_client("demo-service").client_credentials(["api:read"]).access_token
    assert len(sleeper.calls) == 3
    assert sleeper.calls[0] < sleeper.calls[2]  # exponential: 0.25-0.5, 0.5-1, 1-2 s
    assert token_requests(served) == 4


def test_500_on_token_post_is_not_resent(
    served: ServedIdP, make_client: MakeClient, sleeper: FakeSleeper
) -> None:
    served.idp.faults.add(TOKEN, status=500)
    with pytest.raises(OktaError) as caught:
        make_client("demo-service").client_credentials(["api:read"])
    assert caught.value.code is ErrorCode.OKTA_UNAVAILABLE
    assert caught.value.status == 503
    assert token_requests(served) == 1
    assert sleeper.calls == []


def test_retries_exhausted_returns_okta_unavailable(
    served: ServedIdP, make_client: MakeClient, sleeper: FakeSleeper
) -> None:
    served.idp.faults.add(TOKEN, status=503, count=10)
    with pytest.raises(OktaError) as caught:
        make_client("demo-service").client_credentials(["api:read"])
    assert caught.value.code is ErrorCode.OKTA_UNAVAILABLE
    assert token_requests(served) == 4
    assert len(sleeper.calls) == 3


def test_retries_metric(served: ServedIdP, make_client: MakeClient) -> None:
    served.idp.faults.add(TOKEN, status=503, count=2)
    client = make_client("demo-service")
    client.client_credentials(["api:read"])
    assert (
        'okta_retries_total{outcome="503"} 2.0' in generate_latest(client.metrics.registry).decode()
    )


@pytest.mark.anyio
async def test_get_retries_500_and_slow_answers(
    served: ServedIdP, make_transport: Callable[..., ResilientTransport], sleeper: FakeSleeper
) -> None:
    transport = make_transport(read_timeout=0.2)
    served.idp.faults.add(GROUPS, status=500, count=2)
    served.idp.faults.add(GROUPS, status=None, delay=1.0)  # slower than the read timeout
    async with ManagementClient(served.url, SSWSAuth("dev-ssws-token"), transport=transport) as api:
        groups = await api.user_groups("alice@example.com")
    await transport.aclose()
    assert {g.name for g in groups} == {"Everyone", "Network-Admins"}
    assert len(sleeper.calls) == 3  # 500, 500, timeout, then success
    assert not served.idp.faults.list()


def test_circuit_opens_fails_fast_then_recovers(
    served: ServedIdP,
    make_transport: Callable[..., ResilientTransport],
    make_client: MakeClient,
    clock: ManualClock,
) -> None:
    transport = make_transport(retry={"retries": 0}, breaker_threshold=3, breaker_cooldown=30)
    client = make_client("demo-service", transport=transport)
    served.idp.faults.add(TOKEN, status=503, count=3)
    for _ in range(3):
        with pytest.raises(OktaError) as caught:
            client.client_credentials(["api:read"])
        assert caught.value.code is ErrorCode.OKTA_UNAVAILABLE
    assert transport.status()["breaker"]["state"] == "open"  # type: ignore[index]
    gauge = 'okta_circuit_open{upstream="okta"} 1.0'
    assert gauge in generate_latest(client.metrics.registry).decode()
    before = token_requests(served)
    with pytest.raises(OktaError) as caught:
        client.client_credentials(["api:read"])
    assert caught.value.code is ErrorCode.OKTA_CIRCUIT_OPEN
    assert caught.value.status == 503
    assert caught.value.retry_after == pytest.approx(30)
    assert token_requests(served) == before  # failed fast: Okta was not called
    clock.advance(31)
    assert client.client_credentials(["api:read"]).access_token  # the half-open probe succeeds
    assert transport.status()["breaker"]["state"] == "closed"  # type: ignore[index]
    assert (
        'okta_circuit_open{upstream="okta"} 0.0'
        in generate_latest(client.metrics.registry).decode()
    )


def test_failed_probe_reopens(clock: ManualClock) -> None:
    breaker = CircuitBreaker(clock, threshold=1, cooldown=10)
    breaker.failure()
    clock.advance(10)
    breaker.before("okta")  # the probe
    with pytest.raises(OktaError):
        breaker.before("okta")  # only one probe at a time
    breaker.failure()
    assert breaker.state == "open"
    assert breaker.times_opened == 2
    with pytest.raises(OktaError):
        breaker.before("okta")


def _answer(limit: int, remaining: int, reset: float | None = None) -> httpx.Response:
    headers = {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining)}
    if reset is not None:
        headers["X-Rate-Limit-Reset"] = str(int(reset))
    return httpx.Response(200, headers=headers)


def test_limiter_adapts_to_remaining_budget(clock: ManualClock) -> None:
    limiter = AdaptiveLimiter(clock, max_concurrency=10)
    limiter.observe(_answer(600, 500))
    assert limiter.limit == 10
    limiter.observe(_answer(600, 8))  # running low: at most half the remaining budget
    assert limiter.limit == 4
    limiter.observe(_answer(600, 0, reset=clock.time() + 20))
    assert limiter.limit == 1
    assert limiter.pause_left() == pytest.approx(20)
    for _ in range(20):  # a new window: climb back one step per answer
        limiter.observe(_answer(600, 599))
    assert limiter.limit == 10


def test_limiter_caps_concurrency(clock: ManualClock) -> None:
    limiter = AdaptiveLimiter(clock, max_concurrency=2)
    limiter.acquire_sync()
    limiter.acquire_sync()
    assert limiter.snapshot()["in_flight"] == 2
    import threading

    entered = threading.Event()

    def third() -> None:
        limiter.acquire_sync()
        entered.set()

    thread = threading.Thread(target=third)
    thread.start()
    assert not entered.wait(0.05)  # blocked while two are in flight
    limiter.release()
    assert entered.wait(5)
    thread.join()


def test_zero_remaining_pauses_next_request(
    served: ServedIdP, make_client: MakeClient, sleeper: FakeSleeper, clock: ManualClock
) -> None:
    reset = str(int(clock.time()) + 15)
    served.idp.faults.add(
        TOKEN,
        status=200,
        body={
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": "a.b.c",
            "scope": "api:read",
        },
        headers={
            "X-Rate-Limit-Limit": "1200",
            "X-Rate-Limit-Remaining": "0",
            "X-Rate-Limit-Reset": reset,
            "Date": formatdate(clock.time(), usegmt=True),
        },
    )
    client = make_client("demo-service")
    client.client_credentials(["api:read"])
    assert sleeper.calls == []
    client.client_credentials(["api:write"])  # held until the window resets instead of a 429
    assert len(sleeper.calls) == 1
    assert sleeper.calls[0] == pytest.approx(15, abs=1)
