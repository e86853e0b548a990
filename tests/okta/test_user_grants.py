"""Password grant (+ MFA error mapping), refresh STATIC/ROTATE, token exchange (RFC 8693)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from tests.okta.conftest import token_requests
from tests.support.idp_server import ServedIdP

from authgate.clock import ManualClock
from authgate.errors import ErrorCode
from authgate.okta.auth import PasswordAuth, RefreshTokenAuth, TokenExchangeAuth
from authgate.okta.errors import OktaError
from authgate.okta.token_client import EXCHANGE_GRANT, OktaTokenClient

MakeClient = Callable[..., OktaTokenClient]
ALICE = ("alice@example.com", "Alice-DEV-only-1")
OFFLINE = ("openid", "offline_access", "api:read")


def _user_token(make_client: MakeClient, login: str = ALICE[0], password: str = ALICE[1]) -> str:
    auth = PasswordAuth(make_client("demo-native"), login, password, scopes=("openid", "api:read"))
    return auth.token().access_token


def test_password_grant_and_refresh_static(
    served: ServedIdP, make_client: MakeClient, clock: ManualClock
) -> None:
    auth = PasswordAuth(make_client("demo-native"), *ALICE, scopes=OFFLINE)
    first = auth.token()
    assert first.refresh_token
    assert first.id_token
    original_refresh = auth.refresh_token
    clock.advance(3600)
    second = auth.token()  # expired: refreshed, not a second password grant
    assert second.access_token != first.access_token
    assert auth.refresh_token == original_refresh  # STATIC echoes the same refresh token
    assert token_requests(served, "password") == 1
    assert token_requests(served, "refresh_token") == 1


def test_refresh_rotate_keeps_the_newest(
    served: ServedIdP, make_client: MakeClient, clock: ManualClock
) -> None:
    client = make_client("native-rotate")
    start = PasswordAuth(client, *ALICE, scopes=OFFLINE).token()
    assert start.refresh_token
    auth = RefreshTokenAuth(client, start.refresh_token)
    seen = [auth.refresh_token]
    for _ in range(3):
        auth.token()
        seen.append(auth.refresh_token)
        clock.advance(3600)
    assert len(set(seen)) == 4  # a new refresh token each time
    assert token_requests(served, "refresh_token", 200) == 3


def test_password_falls_back_when_refresh_token_is_dead(
    served: ServedIdP, make_client: MakeClient, clock: ManualClock
) -> None:
    auth = PasswordAuth(make_client("demo-native"), *ALICE, scopes=OFFLINE)
    auth.token()
    served.idp.revoke_all()
    clock.advance(3600)
    assert auth.token().access_token
    assert token_requests(served, "refresh_token", 400) == 1
    assert token_requests(served, "password", 200) == 2


def test_mfa_user_gets_a_clear_error(make_client: MakeClient) -> None:
    with pytest.raises(OktaError) as caught:
        PasswordAuth(make_client("demo-native"), "carol@example.com", "Carol-DEV-only-1").token()
    assert caught.value.code is ErrorCode.OKTA_INVALID_GRANT
    assert caught.value.status == 400
    assert "MFA" in (caught.value.description or "")
    assert "MFA" in (caught.value.hint or "")


def test_wrong_password(make_client: MakeClient) -> None:
    with pytest.raises(OktaError) as caught:
        PasswordAuth(make_client("demo-native"), "alice@example.com", "wrong").token()
    assert caught.value.code is ErrorCode.OKTA_INVALID_GRANT


def test_token_exchange_on_behalf_of(served: ServedIdP, make_client: MakeClient) -> None:
    subject = _user_token(make_client)
    client = make_client("demo-exchange")
    exchanged = client.exchange(subject, audience="api://default", scopes=["api:read"])
    assert exchanged.issued_token_type == "urn:ietf:params:oauth:token-type:access_token"
    claims = served.idp.validate_access_token(exchanged.access_token, "default")
    assert claims is not None
    assert claims["sub"] == "alice@example.com"
    assert claims["cid"] == client.client_id
    assert client.exchange(subject, audience="api://default", scopes=["api:read"]) is exchanged
    other = _user_token(make_client, "bob@example.com", "Bob-DEV-only-1")
    assert client.exchange(other, audience="api://default", scopes=["api:read"]) is not exchanged
    assert token_requests(served, EXCHANGE_GRANT) == 2  # one per subject token


@pytest.mark.anyio
async def test_token_exchange_auth_follows_the_current_subject(
    served: ServedIdP, make_client: MakeClient
) -> None:
    subjects = [
        _user_token(make_client),
        _user_token(make_client, "bob@example.com", "Bob-DEV-only-1"),
    ]
    current = {"token": subjects[0]}
    auth = TokenExchangeAuth(
        make_client("demo-exchange"),
        lambda: current["token"],
        audience="api://default",
        scopes=["api:read"],
    )
    tokens = await asyncio.gather(*(auth.atoken() for _ in range(20)))
    assert len({t.access_token for t in tokens}) == 1
    current["token"] = subjects[1]
    bob = await auth.atoken()
    assert bob.access_token != tokens[0].access_token
    assert token_requests(served, EXCHANGE_GRANT) == 2
    await auth.client.aclose()


def test_exchange_errors_map(make_client: MakeClient) -> None:
    client = make_client("demo-exchange")
    with pytest.raises(OktaError) as bad_subject:
        client.exchange("not-a-token", audience="api://default", scopes=["api:read"])
    with pytest.raises(OktaError) as actor:
        client.exchange(
            _user_token(make_client), audience="api://default", scopes=["api:read"], actor_token="x"
        )
    with pytest.raises(OktaError) as not_allowed:
        make_client("demo-service").exchange(_user_token(make_client), audience="api://default")
    assert bad_subject.value.code is ErrorCode.OKTA_INVALID_REQUEST
    assert actor.value.code is ErrorCode.OKTA_INVALID_REQUEST
    assert "actor_token" in (actor.value.description or "")
    assert not_allowed.value.code is ErrorCode.OKTA_UNAUTHORIZED_CLIENT
    assert "token-exchange" in (not_allowed.value.hint or "")


def test_password_auth_as_httpx_auth(served: ServedIdP, make_client: MakeClient) -> None:
    auth = PasswordAuth(make_client("demo-native"), *ALICE, scopes=("openid", "profile", "email"))
    with httpx.Client(auth=auth) as http:
        info = http.get(served.endpoint("userinfo")).json()
    assert info["preferred_username"] == "alice@example.com"
    assert "Alice-DEV-only-1" not in repr(auth)
