"""Fixtures for the Okta client tests: a dev IdP on a ManualClock, a sleeper that moves that clock
instead of sleeping, a fresh metrics registry per test, and client factories for the demo apps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from tests.support.idp_server import ServedIdP, running_idp

from authgate.clock import ManualClock
from authgate.idp.config import IdPConfig
from authgate.okta.client_assertion import load_signing_key
from authgate.okta.dpop import DPoPSigner
from authgate.okta.metrics import OktaMetrics, metrics_for
from authgate.okta.resilience import RetryPolicy
from authgate.okta.token_cache import TokenCache
from authgate.okta.token_client import OktaTokenClient
from authgate.okta.transport import ResilienceConfig, ResilientTransport

SECRET_JWT_SECRET = "svc-hs-secret-DEV-ONLY-0123456789abcdefghij"


class FakeSleeper:
    """Records each wait and advances the clock by it: retries and pauses cost no real time."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


def okta_config() -> IdPConfig:
    """The demo org plus apps for the auth methods and refresh modes the demo lacks."""
    config = IdPConfig.default()
    extra: list[dict[str, Any]] = [
        {"name": "svc-post", "auth_method": "client_secret_post",
         "client_secret": "svc-post-secret-DEV-ONLY-0123456789abcdef"},
        {"name": "svc-hs", "auth_method": "client_secret_jwt", "client_secret": SECRET_JWT_SECRET},
        {"name": "native-rotate", "type": "native", "grants": ["refresh_token"],
         "password_grant": True, "refresh_rotation": "ROTATE",
         "client_secret": "native-rotate-secret-DEV-ONLY-0123456789ab"},
    ]  # fmt: skip
    raw = config.model_dump()
    raw["apps"].extend(extra)
    return IdPConfig.model_validate(raw)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sleeper(clock: ManualClock) -> FakeSleeper:
    return FakeSleeper(clock)


@pytest.fixture
def served(clock: ManualClock) -> Iterator[ServedIdP]:
    with running_idp(okta_config(), clock=clock) as s:
        yield s


@pytest.fixture
def metrics() -> OktaMetrics:
    return metrics_for(CollectorRegistry())


@pytest.fixture
def make_transport(
    clock: ManualClock, sleeper: FakeSleeper, metrics: OktaMetrics
) -> Iterator[Callable[..., ResilientTransport]]:
    made: list[ResilientTransport] = []

    def make(**config: Any) -> ResilientTransport:
        retry = RetryPolicy(**config.pop("retry", {}))
        transport = ResilientTransport(
            config=ResilienceConfig(retry=retry, **config),
            clock=clock,
            sleeper=sleeper,
            metrics=metrics,
        )
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()


@pytest.fixture
def transport(make_transport: Callable[..., ResilientTransport]) -> ResilientTransport:
    return make_transport()


@pytest.fixture
def make_client(
    served: ServedIdP, clock: ManualClock, transport: ResilientTransport, metrics: OktaMetrics
) -> Iterator[Callable[..., OktaTokenClient]]:
    """``make_client("demo-service", server="default", ...)`` → a token client for a demo app."""
    made: list[OktaTokenClient] = []

    def make(
        app_name: str, *, server: str = "default", dpop: bool = False, **kwargs: Any
    ) -> OktaTokenClient:
        app = served.idp.config.app(app_name)
        assert app is not None
        options: dict[str, Any] = {"auth_method": app.auth_method}
        if app.auth_method == "private_key_jwt":
            options["signing_key"] = load_signing_key(jwk=served.idp.client_private_jwk(app_name))
        elif app.client_secret:
            options["client_secret"] = app.client_secret
        if dpop:
            options["dpop"] = DPoPSigner.generate(clock=clock)
        options.update(kwargs)
        options.setdefault("transport", transport)
        options.setdefault("cache", TokenCache(clock=clock))
        client = OktaTokenClient(
            issuer=served.issuer(server),
            client_id=app.client_id,
            clock=clock,
            metrics=metrics,
            **options,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        if client._client is not None:
            client._client.close()


def token_requests(served: ServedIdP, grant: str | None = None, status: int | None = None) -> int:
    records = served.idp.request_log.records(path="/v1/token", grant_type=grant)
    return len([r for r in records if status is None or r.status == status])
