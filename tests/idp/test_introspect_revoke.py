"""Introspection and revocation (RFC 7662, RFC 7009; okta-wire §4, §8.9)."""

from __future__ import annotations

import httpx
from tests.idp.helpers import secret_of
from tests.support.idp_server import ServedIdP, running_idp

from authgate.clock import ManualClock


def cc_token(http: httpx.Client, served: ServedIdP, app: str = "demo-service") -> str:
    response = http.post(
        served.endpoint("token"),
        data={"grant_type": "client_credentials"},
        auth=secret_of(served, app),
    )
    token: str = response.json()["access_token"]
    return token


def introspect(
    http: httpx.Client, served: ServedIdP, token: str, server: str = "default"
) -> httpx.Response:
    return http.post(
        served.endpoint("introspect", server),
        data={"token": token},
        auth=secret_of(served, "demo-service"),
    )


def test_active_access_token(served: ServedIdP, http: httpx.Client) -> None:
    body = introspect(http, served, cc_token(http, served)).json()
    assert list(body)[:4] == ["active", "token_type", "scope", "client_id"]
    assert body["active"] is True
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "api:read"
    assert "username" not in body
    assert "uid" not in body
    assert body["role"] == "User"  # custom claims are echoed


def test_inactive_cases(served: ServedIdP, http: httpx.Client) -> None:
    token = cc_token(http, served)
    for value in ("garbage", "a.b.c", token[:-3] + "abc"):
        assert introspect(http, served, value).json() == {"active": False}
    partner = next(s.id for s in served.idp.servers() if s.config.name == "partner")
    assert introspect(http, served, token, server=partner).json() == {"active": False}


def test_expired_token_is_inactive() -> None:
    clock = ManualClock(1_750_000_000)
    with running_idp(clock=clock) as served, httpx.Client() as http:
        token = cc_token(http, served)
        clock.advance(3601)
        assert introspect(http, served, token).json() == {"active": False}


def test_missing_token_and_client(served: ServedIdP, http: httpx.Client) -> None:
    response = http.post(
        served.endpoint("introspect"), data={}, auth=secret_of(served, "demo-service")
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The 'token' parameter is required.",
    }
    response = http.post(served.endpoint("introspect"), data={"token": "x"})
    assert response.status_code == 401
    assert response.json()["error_description"] == "No client credentials found."


def test_revoke_access_token(served: ServedIdP, http: httpx.Client) -> None:
    token = cc_token(http, served)
    other = cc_token(http, served, "demo-admin")
    revoke = served.endpoint("revoke")
    response = http.post(revoke, data={"token": token}, auth=secret_of(served, "demo-service"))
    assert response.status_code == 200
    assert response.content == b""
    assert introspect(http, served, token).json() == {"active": False}
    # Unknown tokens and other clients' tokens: still 200, but nothing happens to the latter.
    assert (
        http.post(
            revoke, data={"token": "unknown"}, auth=secret_of(served, "demo-service")
        ).status_code
        == 200
    )
    assert (
        http.post(revoke, data={"token": other}, auth=secret_of(served, "demo-service")).status_code
        == 200
    )
    assert introspect(http, served, other).json()["active"] is True


def test_revoke_refresh_token_revokes_its_access_tokens(
    served: ServedIdP, http: httpx.Client
) -> None:
    alice = served.idp.config.user("alice@example.com")
    assert alice is not None
    auth = secret_of(served, "demo-native")
    body = http.post(served.endpoint("token"), auth=auth, data={
        "grant_type": "password", "username": alice.login, "password": alice.password,
        "scope": "offline_access api:read"}).json()  # fmt: skip
    refresh = http.post(
        served.endpoint("introspect"), data={"token": body["refresh_token"]}, auth=auth
    ).json()
    assert refresh["active"] is True
    assert refresh["username"] == alice.login
    assert (
        http.post(
            served.endpoint("revoke"), data={"token": body["refresh_token"]}, auth=auth
        ).status_code
        == 200
    )
    assert http.post(
        served.endpoint("introspect"), data={"token": body["refresh_token"]}, auth=auth
    ).json() == {"active": False}
    assert introspect(http, served, body["access_token"]).json() == {"active": False}


def test_public_client_introspects_with_query_client_id(
    served: ServedIdP, http: httpx.Client
) -> None:
    spa = served.idp.config.app("demo-spa")
    assert spa is not None
    token = cc_token(http, served)
    response = http.post(
        served.endpoint("introspect") + f"?client_id={spa.client_id}", data={"token": token}
    )
    assert response.status_code == 200
    assert response.json()["active"] is True
