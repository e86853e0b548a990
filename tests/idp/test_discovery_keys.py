"""Discovery documents and signing keys (okta-wire §1.2, §3.5, §8.1-§8.2)."""

from __future__ import annotations

import re

import httpx
import pytest
from tests.support.idp_server import ServedIdP, running_idp

from authgate.clock import ManualClock
from authgate.idp.config import CC_GRANT, EXCHANGE_GRANT
from authgate.idp.demo_config import PARTNER_SERVER_ID


def test_custom_server_documents_differ_as_okta(served: ServedIdP, http: httpx.Client) -> None:
    openid = http.get("/oauth2/default/.well-known/openid-configuration").json()
    oauth = http.get("/oauth2/default/.well-known/oauth-authorization-server").json()
    rfc8414 = http.get("/.well-known/oauth-authorization-server/oauth2/default").json()
    assert oauth == rfc8414
    base = served.url + "/oauth2/default"
    assert list(openid)[:6] == ["issuer", "authorization_endpoint", "token_endpoint",
                                "userinfo_endpoint", "registration_endpoint", "jwks_uri"]  # fmt: skip
    assert openid["issuer"] == base
    assert openid["token_endpoint"] == base + "/v1/token"
    assert openid["jwks_uri"] == base + "/v1/keys"
    assert openid["registration_endpoint"] == served.url + "/oauth2/v1/clients"
    assert CC_GRANT not in openid["grant_types_supported"]
    assert CC_GRANT in oauth["grant_types_supported"]
    assert EXCHANGE_GRANT in oauth["grant_types_supported"]
    assert "nonce" in openid["claims_supported"]
    assert oauth["claims_supported"] == [
        "ver",
        "jti",
        "iss",
        "aud",
        "iat",
        "exp",
        "cid",
        "uid",
        "scp",
        "sub",
    ]
    assert "api:read" in openid["scopes_supported"]
    assert "api:admin" not in openid["scopes_supported"]  # metadata_publish NO_CLIENTS
    assert openid["code_challenge_methods_supported"] == ["S256"]
    assert "ES256" in openid["dpop_signing_alg_values_supported"]


def test_org_documents(served: ServedIdP, http: httpx.Client) -> None:
    doc = http.get("/.well-known/openid-configuration").json()
    assert doc["issuer"] == served.url
    assert doc["token_endpoint"] == served.url + "/oauth2/v1/token"
    assert "groups" in doc["scopes_supported"]
    assert doc["request_object_signing_alg_values_supported"] == ["HS256", "HS384", "HS512"]
    assert http.get("/.well-known/oauth-authorization-server").json()["issuer"] == served.url


@pytest.mark.parametrize(
    "path",
    ["/oauth2/nope/.well-known/openid-configuration", "/oauth2/nope/v1/keys",
     "/.well-known/oauth-authorization-server/oauth2/nope", "/oauth2/org/v1/keys"],
)  # fmt: skip
def test_unknown_server_is_e0000007(served: ServedIdP, http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    body = response.json()
    server_id = path.split("/oauth2/")[1].split("/")[0]
    assert list(body) == ["errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"]
    assert body["errorCode"] == body["errorLink"] == "E0000007"
    assert (
        body["errorSummary"] == f"Not found: Resource not found: {server_id} (AuthorizationServer)"
    )
    assert re.fullmatch(r"oae[A-Za-z0-9]{22}", body["errorId"])
    assert body["errorCauses"] == []
    assert re.fullmatch(r"req[A-Za-z0-9]{23}", response.headers["x-okta-request-id"])


def test_partner_server_by_aus_id(served: ServedIdP, http: httpx.Client) -> None:
    assert PARTNER_SERVER_ID.startswith("aus")
    assert len(PARTNER_SERVER_ID) == 20
    doc = http.get(f"/oauth2/{PARTNER_SERVER_ID}/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{served.url}/oauth2/{PARTNER_SERVER_ID}"


def test_jwks_shape_and_rotation(served: ServedIdP, http: httpx.Client) -> None:
    response = http.get("/oauth2/default/v1/keys")
    keys = response.json()["keys"]
    assert len(keys) == 2
    assert all(list(k) == ["kty", "alg", "kid", "use", "e", "n"] for k in keys)
    assert re.fullmatch(r"max-age=\d+, must-revalidate", response.headers["cache-control"])
    active = served.idp.server("default").keys.active().kid
    new_active = served.idp.rotate_keys("default")
    after = {k["kid"] for k in http.get("/oauth2/default/v1/keys").json()["keys"]}
    assert active in after  # EXPIRED stays published
    assert new_active in after
    assert len(after) == 3
    served.idp.rotate_keys("default")
    final = {k["kid"] for k in http.get("/oauth2/default/v1/keys").json()["keys"]}
    assert active not in final  # two rotations later the old key is gone


def test_tokens_signed_before_rotation_still_validate(
    served: ServedIdP, http: httpx.Client
) -> None:
    app = served.idp.config.app("demo-service")
    assert app is not None
    auth = (app.client_id, app.client_secret or "")
    token = http.post(
        served.endpoint("token"), data={"grant_type": "client_credentials"}, auth=auth
    ).json()["access_token"]
    served.idp.rotate_keys("default")
    assert served.idp.validate_access_token(token, "default") is not None
    fresh = http.post(
        served.endpoint("token"), data={"grant_type": "client_credentials"}, auth=auth
    ).json()["access_token"]
    assert fresh.split(".")[0] != token.split(".")[0]  # a different kid signs now


def test_cache_control_counts_down_then_no_cache() -> None:
    clock = ManualClock(1_750_000_000)
    with running_idp(clock=clock) as served, httpx.Client(base_url=served.url) as http:
        first = http.get("/oauth2/default/v1/keys").headers["cache-control"]
        assert first == f"max-age={90 * 86400}, must-revalidate"
        clock.advance(1000)
        assert (
            http.get("/oauth2/default/v1/keys").headers["cache-control"]
            == f"max-age={90 * 86400 - 1000}, must-revalidate"
        )
        clock.advance(90 * 86400 - 1000 - 600)
        assert http.get("/oauth2/default/v1/keys").headers["cache-control"] == "no-cache"
        before = served.idp.server("default").keys.active().kid
        clock.advance(601)  # the scheduled rotation happens
        assert served.idp.server("default").keys.active().kid != before
