"""Token-endpoint grants (okta-wire §2.2-§2.7, §3.2, §8.5-§8.8): shapes, claims and error texts."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from tests.idp.helpers import assertion, assertion_form, decode_part, secret_of
from tests.support.idp_server import ServedIdP, running_idp

from authgate.clock import ManualClock
from authgate.idp.config import EXCHANGE_GRANT, IdPConfig

ACCESS = "urn:ietf:params:oauth:token-type:access_token"


def expect(response: httpx.Response, status: int, error: str, description: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": error, "error_description": description}


def post(
    http: httpx.Client, served: ServedIdP, app: str, data: dict[str, str], server: str = "default"
) -> httpx.Response:
    return http.post(served.endpoint("token", server), data=data, auth=secret_of(served, app))


def user_token(
    http: httpx.Client,
    served: ServedIdP,
    login: str = "alice@example.com",
    scope: str = "openid profile email offline_access api:read",
) -> dict[str, Any]:
    user = served.idp.config.user(login)
    assert user is not None
    form = {"grant_type": "password", "username": login, "password": user.password, "scope": scope}
    response = post(http, served, "demo-native", form)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_client_credentials_shape(served: ServedIdP, http: httpx.Client) -> None:
    response = post(
        http,
        served,
        "demo-service",
        {"grant_type": "client_credentials", "scope": "api:read api:write"},
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["token_type", "expires_in", "access_token", "scope"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "api:read api:write"
    header = decode_part(body["access_token"], 0)
    assert list(header) == ["kid", "alg"]
    assert header["alg"] == "RS256"
    claims = decode_part(body["access_token"], 1)
    app = served.idp.config.app("demo-service")
    assert app is not None
    assert list(claims)[:8] == ["ver", "jti", "iss", "aud", "iat", "exp", "cid", "scp"]
    assert claims["ver"] == 1
    assert re.fullmatch(r"AT\.[A-Za-z0-9_-]{43}", claims["jti"])
    assert claims["iss"] == served.url + "/oauth2/default"
    assert claims["aud"] == "api://default"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["cid"] == claims["sub"] == app.client_id
    assert claims["scp"] == ["api:read", "api:write"]
    assert "uid" not in claims
    assert claims["role"] == "User"


def test_client_credentials_default_scopes(served: ServedIdP, http: httpx.Client) -> None:
    response = post(http, served, "demo-admin", {"grant_type": "client_credentials"})
    assert response.json()["scope"] == "api:read"
    assert decode_part(response.json()["access_token"], 1)["role"] == "Admin"


def test_client_credentials_scope_errors(served: ServedIdP, http: httpx.Client) -> None:
    cc = {"grant_type": "client_credentials"}
    expect(
        post(http, served, "demo-service", {**cc, "scope": "openid api:read"}),
        400,
        "invalid_scope",
        "Cannot request 'openid' scopes using client credentials.",
    )
    expect(
        post(http, served, "demo-service", {**cc, "scope": "nope"}),
        400,
        "invalid_scope",
        "One or more scopes are not configured for the authorization server resource.",
    )
    config = IdPConfig.default()
    server = config.server("default")
    assert server is not None
    for scope in server.scopes:
        scope.default = False
    with running_idp(config) as other, httpx.Client() as client:
        expect(post(client, other, "demo-service", cc), 400, "invalid_scope",
               "The authorization server resource does not have any configured default scopes, 'scope' must be provided.")  # fmt: skip


def test_generic_grant_errors(served: ServedIdP, http: httpx.Client) -> None:
    expect(
        post(http, served, "demo-service", {"scope": "api:read"}),
        400,
        "invalid_request",
        "The token request must specify a 'grant_type'. Valid values: [authorization_code, password, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:token-exchange]",
    )
    expect(
        post(http, served, "demo-service", {"grant_type": "implicit"}),
        400,
        "unsupported_grant_type",
        "The authorization grant type is not supported by the authorization server. Configured grant types: [authorization_code, password, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:token-exchange].",
    )
    expect(post(http, served, "demo-service", {"grant_type": "password", "username": "a", "password": "b"}), 400, "unauthorized_client",
           "The client is not authorized to use the provided grant type. Configured grant types: [client_credentials].")  # fmt: skip


def test_policy_refusals() -> None:
    config = IdPConfig.default()
    server = config.server("default")
    assert server is not None
    server.policies[0].clients = ["demo-admin"]
    server.policies[0].scopes = ["api:read"]
    with running_idp(config) as served, httpx.Client() as http:
        expect(
            post(
                http,
                served,
                "demo-service",
                {"grant_type": "client_credentials", "scope": "api:read"},
            ),
            401,
            "access_denied",
            "Policy evaluation failed for this request, please check the policy configurations.",
        )
        expect(
            post(
                http,
                served,
                "demo-admin",
                {"grant_type": "client_credentials", "scope": "api:write"},
            ),
            400,
            "access_denied",
            "Policy evaluation succeeded, but all the requested scopes were rejected.",
        )
        expect(post(http, served, "demo-admin", {"grant_type": "client_credentials", "scope": "api:read api:write"}), 400, "access_denied",
               "Some of the requested scopes were denied by the policy. Denied scopes: [api:write].")  # fmt: skip


def test_policy_lifetime_is_used() -> None:
    config = IdPConfig.default()
    server = config.server("default")
    assert server is not None
    server.policies[0].access_token_lifetime = 300
    with running_idp(config) as served, httpx.Client() as http:
        body = post(http, served, "demo-service", {"grant_type": "client_credentials"}).json()
        assert body["expires_in"] == 300
        claims = decode_part(body["access_token"], 1)
        assert claims["exp"] - claims["iat"] == 300


def org_cc(served: ServedIdP, app: str, scope: str) -> dict[str, str]:
    value = assertion(served, app, server_id="org")
    return assertion_form(value, grant_type="client_credentials", scope=scope)


def test_org_client_credentials(served: ServedIdP, http: httpx.Client) -> None:
    url = served.endpoint("token", "org")
    response = http.post(url, data=org_cc(served, "demo-jwt", "okta.users.read okta.users.manage"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "okta.users.read"
    claims = decode_part(body["access_token"], 1)
    assert claims["iss"] == served.url
    assert claims["aud"] == served.url
    assert claims["exp"] - claims["iat"] == 3600
    assert "role" not in claims
    # The org AS does not publish the keys of its access tokens (okta-wire §1.1).
    kids = {k["kid"] for k in http.get(served.endpoint("keys", "org")).json()["keys"]}
    assert decode_part(body["access_token"], 0)["kid"] not in kids
    assert served.idp.validate_access_token(body["access_token"], "org") is not None


def test_org_client_credentials_errors() -> None:
    config = IdPConfig.default()
    web = config.app("demo-web")
    assert web is not None
    web.grants.append(
        "client_credentials"
    )  # Okta lets web apps enable CC; the org AS still refuses
    with running_idp(config) as served, httpx.Client() as http:
        url = served.endpoint("token", "org")
        cc = {"grant_type": "client_credentials", "scope": "okta.users.read"}
        expect(
            http.post(url, data=cc, auth=secret_of(served, "demo-service")),
            401,
            "invalid_client",
            "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method.",
        )
        expect(
            http.post(url, data=cc, auth=secret_of(served, "demo-web")),
            401,
            "invalid_client",
            "Only clients with 'application_type' of 'service' may use the client_credentials 'grant_type' with the Org Authorization Server.",
        )
        expect(
            http.post(url, data=org_cc(served, "demo-jwt", "api:read")),
            400,
            "invalid_scope",
            "Custom scopes are not allowed for this request.",
        )
        expect(
            http.post(url, data=org_cc(served, "demo-jwt", "okta.logs.read")),
            400,
            "consent_required",
            "You are not allowed any of the requested scopes.",
        )
        expect(
            http.post(url, data=org_cc(served, "demo-jwt", "openid")),
            400,
            "invalid_scope",
            "Cannot request 'openid' scopes using client credentials.",
        )
        form = {**org_cc(served, "demo-jwt", "okta.users.read"), "grant_type": EXCHANGE_GRANT}
        expect(http.post(url, data=form), 400, "unsupported_grant_type",
               f"'{EXCHANGE_GRANT}' grant type is not supported.")  # fmt: skip


def test_password_grant_user_tokens(served: ServedIdP, http: httpx.Client) -> None:
    body = user_token(http, served)
    assert list(body) == [
        "token_type",
        "expires_in",
        "access_token",
        "scope",
        "refresh_token",
        "id_token",
    ]
    alice = served.idp.config.user("alice@example.com")
    assert alice is not None
    claims = decode_part(body["access_token"], 1)
    assert claims["sub"] == alice.login
    assert claims["uid"] == alice.id
    assert claims["groups"] == ["Everyone", "Network-Admins"]
    assert claims["role"] == "Admin"
    assert "auth_time" in claims
    id_claims = decode_part(body["id_token"], 1)
    assert id_claims["sub"] == alice.id
    assert id_claims["aud"] == served.idp.config.app("demo-native").client_id  # type: ignore[union-attr]
    assert id_claims["jti"].startswith("ID.")
    assert id_claims["preferred_username"] == alice.login
    assert id_claims["idp"].startswith("00o")
    assert "at_hash" in id_claims


@pytest.mark.parametrize(
    ("login", "password", "description"),
    [
        ("alice@example.com", "wrong", "The credentials provided were invalid."),
        ("nobody@example.com", "x", "The credentials provided were invalid."),
        ("dave@example.com", "Dave-DEV-only-1", "The credentials provided were invalid."),
        ("carol@example.com", "Carol-DEV-only-1", "Resource owner password credentials cannot be used with MFA enabled."),
    ],
)  # fmt: skip
def test_password_grant_errors(
    served: ServedIdP, http: httpx.Client, login: str, password: str, description: str
) -> None:
    form = {"grant_type": "password", "username": login, "password": password, "scope": "openid"}
    expect(post(http, served, "demo-native", form), 400, "invalid_grant", description)


def test_password_expired() -> None:
    config = IdPConfig.default()
    bob = config.user("bob@example.com")
    assert bob is not None
    bob.status = "PASSWORD_EXPIRED"
    with running_idp(config) as served, httpx.Client() as http:
        form = {
            "grant_type": "password",
            "username": bob.login,
            "password": bob.password,
            "scope": "openid",
        }
        expect(
            post(http, served, "demo-native", form), 400, "invalid_grant", "Password has expired."
        )


def test_refresh_static(served: ServedIdP, http: httpx.Client) -> None:
    first = user_token(http, served)
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    again = post(http, served, "demo-native", form).json()
    assert again["refresh_token"] == first["refresh_token"]
    assert again["access_token"] != first["access_token"]
    assert "id_token" in again
    narrowed = post(http, served, "demo-native", {**form, "scope": "api:read"}).json()
    assert narrowed["scope"] == "api:read"
    expect(post(http, served, "demo-native", {**form, "scope": "api:read api:write"}), 400, "access_denied",
           "Some of the scopes requested for the refresh request were not granted in the original authorize request. Denied scopes: api:write.")  # fmt: skip
    expect(post(http, served, "demo-native", {"grant_type": "refresh_token", "refresh_token": "nope"}), 400, "invalid_grant",
           "The refresh token is invalid or expired.")  # fmt: skip
    expect(post(http, served, "demo-native", {"grant_type": "refresh_token"}), 400, "invalid_request",
           "The required parameter 'refresh_token' is missing.")  # fmt: skip


def test_refresh_rotate_and_reuse_detection() -> None:
    clock = ManualClock(1_750_000_000)
    config = IdPConfig.default()
    native = config.app("demo-native")
    assert native is not None
    native.refresh_rotation = "ROTATE"
    native.refresh_leeway = 30
    with running_idp(config, clock=clock) as served, httpx.Client() as http:
        first = user_token(http, served)
        form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        second = post(http, served, "demo-native", form).json()
        assert second["refresh_token"] != first["refresh_token"]
        clock.advance(10)  # inside the leeway the old one still works
        assert post(http, served, "demo-native", form).status_code == 200
        clock.advance(60)  # reuse after the leeway revokes the whole grant
        expect(
            post(http, served, "demo-native", form),
            400,
            "invalid_grant",
            "The refresh token is invalid or expired.",
        )
        newest = {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
        expect(
            post(http, served, "demo-native", newest),
            400,
            "invalid_grant",
            "The refresh token is invalid or expired.",
        )
        assert served.idp.validate_access_token(second["access_token"], "default") is None


def test_refresh_idle_expiry() -> None:
    clock = ManualClock(1_750_000_000)
    with running_idp(clock=clock) as served, httpx.Client() as http:
        first = user_token(http, served)
        clock.advance(7 * 86400 + 1)
        form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        expect(
            post(http, served, "demo-native", form),
            400,
            "invalid_grant",
            "The refresh token is invalid or expired.",
        )


def exchange_form(subject: str, **extra: str) -> dict[str, str]:
    return {"grant_type": EXCHANGE_GRANT, "subject_token_type": ACCESS, "subject_token": subject,
            "scope": "api:read", "audience": "api://default", **extra}  # fmt: skip


def test_token_exchange(served: ServedIdP, http: httpx.Client) -> None:
    subject = user_token(http, served)
    response = post(http, served, "demo-exchange", exchange_form(subject["access_token"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["token_type", "expires_in", "access_token", "scope", "issued_token_type"]
    assert body["issued_token_type"] == ACCESS
    claims = decode_part(body["access_token"], 1)
    original = decode_part(subject["access_token"], 1)
    exchanger = served.idp.config.app("demo-exchange")
    assert exchanger is not None
    assert claims["cid"] == exchanger.client_id
    assert (claims["sub"], claims["uid"], claims["auth_time"]) == (
        original["sub"],
        original["uid"],
        original["auth_time"],
    )
    assert "act" not in claims


def test_token_exchange_from_trusted_server(served: ServedIdP, http: httpx.Client) -> None:
    partner = next(s for s in served.idp.servers() if s.config.name == "partner")
    user = served.idp.config.user("bob@example.com")
    assert user is not None
    form = {
        "grant_type": "password",
        "username": user.login,
        "password": user.password,
        "scope": "partner:read",
    }
    native = served.idp.config.app("demo-native")
    assert native is not None
    partner_token = http.post(
        partner.endpoint("token"), data=form, auth=secret_of(served, "demo-native")
    ).json()["access_token"]
    response = post(http, served, "demo-exchange", exchange_form(partner_token))
    assert response.status_code == 200, response.text
    # The other way round is not trusted.
    default_token = user_token(http, served, scope="api:read")["access_token"]
    response = http.post(
        partner.endpoint("token"),
        data=exchange_form(default_token, audience="api://partner", scope="partner:read"),
        auth=secret_of(served, "demo-exchange"),
    )
    expect(response, 403, "access_denied", "The 'subject_token' issuer isn't a trusted authorization server.")  # fmt: skip


def test_token_exchange_errors(served: ServedIdP, http: httpx.Client) -> None:
    good = user_token(http, served)["access_token"]
    ex = "demo-exchange"
    expect(
        post(http, served, ex, exchange_form(good, subject_token_type="urn:x")),
        400,
        "invalid_request",
        "'subject_token_type' is invalid or not supported.",
    )
    expect(
        post(http, served, ex, exchange_form("not.a.jwt")),
        400,
        "invalid_request",
        "'subject_token' is invalid.",
    )
    expect(
        post(http, served, ex, exchange_form(good, audience="api://other")),
        400,
        "invalid_target",
        "Token Exchange requests must include a valid audience of the authorization server.",
    )
    expect(
        post(http, served, ex, exchange_form(good, scope="openid api:read")),
        400,
        "invalid_scope",
        "Can't request 'openid' scopes using the Token Exchange flow for a service app.",
    )
    expect(
        post(http, served, ex, {"grant_type": EXCHANGE_GRANT, "subject_token_type": ACCESS}),
        400,
        "invalid_request",
        "The required parameter 'subject_token' is missing.",
    )
    expect(
        post(http, served, "demo-service", exchange_form(good)),
        400,
        "unauthorized_client",
        "The client is not authorized to use the provided grant type. Configured grant types: [client_credentials].",
    )
    served.idp.revoke_all()
    expect(post(http, served, ex, exchange_form(good)), 400, "invalid_grant", "The 'subject_token' either expired or the session associated with it was terminated.")  # fmt: skip
