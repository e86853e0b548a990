"""Client credentials against the dev IdP: every auth method, caching, expiry, single flight."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import RSAKey
from tests.okta.conftest import token_requests
from tests.support.idp_server import ServedIdP

from authgate.clock import ManualClock
from authgate.errors import ErrorCode
from authgate.idp.jwt_util import parse_compact
from authgate.okta.client_assertion import load_signing_key
from authgate.okta.errors import OktaError
from authgate.okta.token_client import OktaTokenClient

MakeClient = Callable[..., OktaTokenClient]


@pytest.mark.parametrize("app", ["demo-service", "svc-post", "svc-hs"])
def test_secret_methods_get_a_token(served: ServedIdP, make_client: MakeClient, app: str) -> None:
    client = make_client(app)
    token = client.client_credentials(["api:read"])
    assert token.token_type == "Bearer"
    assert token.scope == "api:read"
    claims = served.idp.validate_access_token(token.access_token, "default")
    assert claims is not None
    assert claims["cid"] == client.client_id


def _pem(served: ServedIdP) -> str:
    key = RSAKey.import_key(served.idp.client_private_jwk("demo-jwt")).private_key
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize("source", ["file", "env", "jwk", "jwk-text"])
def test_private_key_jwt_from_every_key_source(
    served: ServedIdP,
    make_client: MakeClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    jwk = served.idp.client_private_jwk("demo-jwt")
    if source == "file":
        path = tmp_path / "key.pem"
        path.write_text(_pem(served))
        key = load_signing_key(pem_file=path, kid=jwk["kid"])
    elif source == "env":
        monkeypatch.setenv("OKTA_TEST_KEY", _pem(served))
        key = load_signing_key(pem_env="OKTA_TEST_KEY")  # no kid: the IdP's single key is used
    elif source == "jwk":
        key = load_signing_key(jwk=jwk)
    else:
        import orjson

        key = load_signing_key(jwk=orjson.dumps(jwk).decode())
    client = make_client("demo-jwt", server="org", signing_key=key)
    token = client.client_credentials(["okta.users.read"])
    assert token.scope == "okta.users.read"
    assert token_requests(served, "client_credentials", 200) == 1


def test_assertion_claims_match_okta_rules(
    served: ServedIdP, make_client: MakeClient, clock: ManualClock
) -> None:
    client = make_client("demo-jwt", server="org")
    endpoint = client.token_endpoint()
    assert client._assertion is not None
    first, second = client._assertion.make(endpoint), client._assertion.make(endpoint)
    header, claims = parse_compact(first)
    assert header["alg"] == "RS256"
    assert header["kid"] == served.idp.client_private_jwk("demo-jwt")["kid"]
    assert claims["iss"] == claims["sub"] == client.client_id
    assert claims["aud"] == endpoint == served.endpoint("token", "org")
    assert claims["iat"] == int(clock.time())
    assert 0 < claims["exp"] - claims["iat"] <= 3600
    assert parse_compact(second)[1]["jti"] != claims["jti"]


def test_cached_until_expiry_minus_buffer(
    served: ServedIdP, make_client: MakeClient, clock: ManualClock
) -> None:
    client = make_client("demo-service")
    first = client.client_credentials(["api:read"])
    assert client.client_credentials(["api:read"]) is first
    clock.advance(3600 - 300 - 1)  # still inside expires_in − buffer
    assert client.client_credentials(["api:read"]) is first
    assert token_requests(served) == 1
    clock.advance(2)  # now due: the cached token must not be served
    second = client.client_credentials(["api:read"])
    assert second.access_token != first.access_token
    assert token_requests(served) == 2


def test_cache_keys_separate_scopes(served: ServedIdP, make_client: MakeClient) -> None:
    client = make_client("demo-service")
    a = client.client_credentials(["api:read"])
    b = client.client_credentials(["api:write"])
    assert a.access_token != b.access_token
    assert client.client_credentials(["api:read"]) is a
    assert token_requests(served) == 2


def test_max_ttl_caps_reuse(served: ServedIdP, make_client: MakeClient, clock: ManualClock) -> None:
    from authgate.okta.token_cache import TokenCache

    client = make_client("demo-service", cache=TokenCache(clock=clock, max_ttl=60))
    client.client_credentials(["api:read"])
    clock.advance(61)
    client.client_credentials(["api:read"])
    assert token_requests(served) == 2


@pytest.mark.anyio
async def test_hundred_concurrent_callers_make_one_request(
    served: ServedIdP, make_client: MakeClient
) -> None:
    client = make_client("demo-service")
    tokens = await asyncio.gather(*(client.aclient_credentials(["api:read"]) for _ in range(100)))
    assert len({t.access_token for t in tokens}) == 1
    assert token_requests(served, "client_credentials") == 1
    await client.aclose()


def test_hundred_threads_make_one_request(served: ServedIdP, make_client: MakeClient) -> None:
    client = make_client("demo-service")
    results: list[str] = []
    barrier = threading.Barrier(100)

    def call() -> None:
        barrier.wait()
        results.append(client.client_credentials(["api:read"]).access_token)

    threads = [threading.Thread(target=call) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 100
    assert len(set(results)) == 1
    assert token_requests(served, "client_credentials") == 1


@pytest.mark.anyio
async def test_failed_fetch_is_shared_then_retried(
    served: ServedIdP, make_client: MakeClient
) -> None:
    client = make_client("demo-service")
    served.idp.faults.add(
        "/oauth2/default/v1/token",
        status=400,
        body={"error": "invalid_scope", "error_description": "nope"},
    )
    results = await asyncio.gather(
        *(client.aclient_credentials(["api:read"]) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(r, OktaError) and r.code is ErrorCode.OKTA_INVALID_SCOPE for r in results)
    assert token_requests(served) == 1  # one failed request shared by all ten callers
    assert (await client.aclient_credentials(["api:read"])).scope == "api:read"
    await client.aclose()


def test_openid_scope_on_client_credentials_hints_custom_scope(make_client: MakeClient) -> None:
    client = make_client("demo-service")
    with pytest.raises(OktaError) as caught:
        client.client_credentials(["openid"])
    assert caught.value.code is ErrorCode.OKTA_INVALID_SCOPE
    assert caught.value.status == 400
    assert caught.value.hint is not None
    assert "use a custom scope" in caught.value.hint


def test_wrong_secret_hint_names_the_form_sent(make_client: MakeClient) -> None:
    client = make_client("demo-service", client_secret="wrong-secret-0123456789-0123456789")
    with pytest.raises(OktaError) as caught:
        client.client_credentials(["api:read"])
    error = caught.value
    assert error.code is ErrorCode.OKTA_INVALID_CLIENT
    assert error.status == 401
    assert error.hint is not None
    assert "client_secret_basic" in error.hint
    assert "Basic" in error.hint
    assert error.request_id


def test_secret_sent_to_a_private_key_app_is_refused_with_hint(
    served: ServedIdP, make_client: MakeClient
) -> None:
    client = make_client(
        "demo-jwt",
        server="org",
        auth_method="client_secret_post",
        client_secret="x" * 40,
        signing_key=None,
    )
    with pytest.raises(OktaError) as caught:
        client.client_credentials(["okta.users.read"])
    assert caught.value.code is ErrorCode.OKTA_INVALID_CLIENT
    assert "client_secret_post" in (caught.value.hint or "")


def test_metrics_count_outcomes(make_client: MakeClient, metrics: object) -> None:
    from prometheus_client import generate_latest

    client = make_client("demo-service")
    client.client_credentials(["api:read"])
    with pytest.raises(OktaError):
        client.client_credentials(["openid"])
    text = generate_latest(client.metrics.registry).decode()
    assert 'okta_token_requests_total{grant="client_credentials",outcome="ok"} 1.0' in text
    assert (
        'okta_token_requests_total{grant="client_credentials",outcome="okta.invalid_scope"} 1.0'
        in text
    )
    assert "okta_token_latency_seconds_count" in text
