"""Client authentication at /token (okta-wire §2.1, §8.3-§8.4): every rule, exact status and text."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from tests.idp.helpers import assertion, assertion_form, secret_of, unsigned_part
from tests.support.idp_server import ServedIdP, running_idp

from authgate.idp.config import AppConfig, IdPConfig

CC = {"grant_type": "client_credentials", "scope": "api:read"}
GENERIC = "Client authentication failed. Either the client or the client credentials are invalid."
MULTIPLE = (
    "Cannot supply multiple client credentials. Use one of the following: credentials in the "
    "Authorization header, credentials in the post body, or a client_assertion in the post body."
)


def expect(response: httpx.Response, status: int, error: str, description: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": error, "error_description": description}
    assert response.headers["cache-control"] == "no-cache, no-store"
    assert response.headers["pragma"] == "no-cache"


def token(http: httpx.Client, served: ServedIdP, **kwargs: Any) -> httpx.Response:
    return http.post(served.endpoint("token"), **kwargs)


def test_basic_post_and_jwt_methods_succeed(served: ServedIdP, http: httpx.Client) -> None:
    client_id, secret = secret_of(served, "demo-service")
    assert token(http, served, data=CC, auth=(client_id, secret)).status_code == 200
    jwt_client = served.idp.config.app("demo-jwt")
    assert jwt_client is not None
    form = assertion_form(assertion(served, "demo-jwt"), **CC)
    assert token(http, served, data=form).status_code == 200


def test_no_credentials(served: ServedIdP, http: httpx.Client) -> None:
    expect(token(http, served, data=CC), 401, "invalid_client", "No client credentials found.")


@pytest.mark.parametrize(
    "header",
    ["Basic", "Basic !!!notbase64", "Bearer abc", "Basic " + base64.b64encode(b"nocolon").decode()],
)
def test_malformed_authorization_header(served: ServedIdP, http: httpx.Client, header: str) -> None:
    response = token(http, served, data=CC, headers={"Authorization": header})
    expect(
        response,
        401,
        "invalid_client",
        "Found Authentication header but was not valid client credentials.",
    )


def test_unknown_client_id(served: ServedIdP, http: httpx.Client) -> None:
    response = token(http, served, data=CC, auth=("0oaNOPE", "x"))
    expect(response, 401, "invalid_client", "Invalid value for 'client_id' parameter.")


def test_wrong_secret(served: ServedIdP, http: httpx.Client) -> None:
    client_id, _ = secret_of(served, "demo-service")
    response = token(http, served, data=CC, auth=(client_id, "wrong"))
    expect(
        response,
        401,
        "invalid_client",
        "The client secret supplied for a confidential client is invalid.",
    )


def test_wrong_method_is_generic(served: ServedIdP, http: httpx.Client) -> None:
    client_id, secret = secret_of(served, "demo-service")
    form = {**CC, "client_id": client_id, "client_secret": secret}
    expect(token(http, served, data=form), 401, "invalid_client", GENERIC)
    jwt_app = served.idp.config.app("demo-jwt")
    assert jwt_app is not None
    expect(
        token(http, served, data={**CC, "client_id": jwt_app.client_id}),
        401,
        "invalid_client",
        GENERIC,
    )


def test_header_and_body_credentials(served: ServedIdP, http: httpx.Client) -> None:
    client_id, secret = secret_of(served, "demo-service")
    form = {**CC, "client_secret": secret}
    expect(
        token(http, served, data=form, auth=(client_id, secret)), 401, "invalid_request", MULTIPLE
    )
    form = assertion_form(assertion(served, "demo-jwt"), **CC)
    expect(
        token(http, served, data=form, auth=(client_id, secret)), 401, "invalid_request", MULTIPLE
    )


def test_secret_and_assertion_in_body(served: ServedIdP, http: httpx.Client) -> None:
    form = assertion_form(assertion(served, "demo-jwt"), client_secret="x", **CC)
    expect(token(http, served, data=form), 401, "invalid_request", MULTIPLE)


@pytest.mark.parametrize("name", ["client_secret", "client_assertion", "client_assertion_type"])
def test_credentials_in_query(served: ServedIdP, http: httpx.Client, name: str) -> None:
    client_id, secret = secret_of(served, "demo-service")
    url = served.endpoint("token") + f"?{name}=x"
    response = http.post(url, data=CC, auth=(client_id, secret))
    expect(
        response,
        400,
        "invalid_request",
        "Client credentials cannot be supplied via query parameters.",
    )


def test_duplicate_parameters(served: ServedIdP, http: httpx.Client) -> None:
    client_id, secret = secret_of(served, "demo-service")
    body = "grant_type=client_credentials&scope=api:read&scope=api:write"
    response = token(
        http,
        served,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(client_id, secret),
    )
    expect(
        response,
        400,
        "invalid_request",
        "The request contained multiple parameters with the same name.",
    )


def test_wrong_assertion_type(served: ServedIdP, http: httpx.Client) -> None:
    form = {**assertion_form(assertion(served, "demo-jwt"), **CC), "client_assertion_type": "x"}
    expect(
        token(http, served, data=form),
        400,
        "invalid_request",
        "The client_assertion_type is invalid.",
    )


def _assertion_error(served: ServedIdP, http: httpx.Client, value: str, description: str) -> None:
    expect(
        token(http, served, data=assertion_form(value, **CC)), 401, "invalid_client", description
    )


@pytest.mark.parametrize("value", ["garbage", "a.b.c", "e30.e30.", ""])
def test_unparsable_assertion(served: ServedIdP, http: httpx.Client, value: str) -> None:
    _assertion_error(served, http, value, "The parsing of the client_assertion failed.")


def test_assertion_claim_rules(served: ServedIdP, http: httpx.Client) -> None:
    now = int(served.idp.clock.time())
    cases = [
        (assertion(served, "demo-jwt", iss="0oaUNKNOWN"),
         "The issuer claim for client_assertion is not a valid client_id."),
        (assertion(served, "demo-jwt", sub="someone-else"),
         "The subject claim for client_assertion is not a valid client_id."),
        (assertion(served, "demo-jwt", aud=served.url + "/oauth2/v1/token"),
         "The audience claim for client_assertion must be the endpoint invoked for the request."),
        (assertion(served, "demo-jwt", aud=served.endpoint("introspect")),
         "The audience claim for client_assertion must be the endpoint invoked for the request."),
        (assertion(served, "demo-jwt", drop=("exp",)),
         "The client_assertion must contain the 'exp' claim as seconds since epoch."),
        (assertion(served, "demo-jwt", exp="soon"),
         "The client_assertion must contain the 'exp' claim as seconds since epoch."),
        (assertion(served, "demo-jwt", exp=now - 1),
         "The client_assertion token is expired."),
        (assertion(served, "demo-jwt", exp=now + 3700),
         "The client_assertion token has an expiration too far into the future."),
        (assertion(served, "demo-jwt", iat=now + 120),
         "The client_assertion token must be issued before the current time."),
        (assertion(served, "demo-jwt", header={"kid": "not-a-kid"}),
         "The client_assertion JWT kid is invalid."),
        (assertion(served, "demo-jwt", key=RSAKey.generate_key(2048)),
         "The client_assertion signature is invalid."),
    ]  # fmt: skip
    for value, description in cases:
        _assertion_error(served, http, value, description)


def test_assertion_exp_exactly_one_hour_is_accepted(served: ServedIdP, http: httpx.Client) -> None:
    value = assertion(served, "demo-jwt", exp=int(served.idp.clock.time()) + 3590)
    assert token(http, served, data=assertion_form(value, **CC)).status_code == 200


def test_assertion_jti_is_single_use(served: ServedIdP, http: httpx.Client) -> None:
    value = assertion(served, "demo-jwt", jti="once")
    assert token(http, served, data=assertion_form(value, **CC)).status_code == 200
    _assertion_error(served, http, value, "The client_assertion token has already been used.")


def test_assertion_without_jti_may_repeat(served: ServedIdP, http: httpx.Client) -> None:
    value = assertion(served, "demo-jwt", drop=("jti",))
    for _ in range(2):
        assert token(http, served, data=assertion_form(value, **CC)).status_code == 200


def test_bad_algorithms(served: ServedIdP, http: httpx.Client) -> None:
    app = served.idp.config.app("demo-jwt")
    assert app is not None
    claims = {"iss": app.client_id, "sub": app.client_id, "aud": served.endpoint("token"),
              "exp": int(served.idp.clock.time()) + 60}  # fmt: skip
    none_alg = f"{unsigned_part({'alg': 'none'})}.{unsigned_part(claims)}.sig"
    _assertion_error(
        served, http, none_alg, "The client_assertion JWT signature algorithm is invalid."
    )
    hs = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(b"k" * 40), algorithms=["HS256"])
    _assertion_error(served, http, hs, "The client_assertion JWT signature algorithm is invalid.")


def _config_with(*apps: AppConfig) -> IdPConfig:
    config = IdPConfig.default()
    config.apps.extend(apps)
    return config


def test_client_secret_jwt_rules() -> None:
    long_secret = "s" * 40
    config = _config_with(
        AppConfig(name="hs-long", auth_method="client_secret_jwt", client_secret=long_secret),
        AppConfig(name="hs-short", auth_method="client_secret_jwt", client_secret="short"),
        AppConfig(name="no-jwks", auth_method="private_key_jwt"),
    )
    with running_idp(config) as served, httpx.Client() as http:
        good = assertion(served, "hs-long", key=OctKey.import_key(long_secret.encode()),
                         header={"alg": "HS256"})  # fmt: skip
        assert token(http, served, data=assertion_form(good, **CC)).status_code == 200
        wrong = assertion(
            served, "hs-long", key=OctKey.import_key(b"x" * 40), header={"alg": "HS256"}
        )
        _assertion_error(served, http, wrong, "The client_assertion signature is invalid.")
        short = assertion(served, "hs-short", key=OctKey.import_key(b"short" * 8),
                          header={"alg": "HS256"})  # fmt: skip
        _assertion_error(
            served, http, short, "The client secret is too short to verify a JWT HMAC."
        )
        rsa = assertion(served, "no-jwks", key=RSAKey.generate_key(2048))
        _assertion_error(
            served,
            http,
            rsa,
            "The client does not have a JWKSet configured, but the client_assertion requires one.",
        )


def test_jwk_with_enc_use_is_refused() -> None:
    key = RSAKey.generate_key(2048)
    public = {**key.as_dict(private=False), "kid": "k1", "use": "enc"}
    config = _config_with(
        AppConfig(name="enc-key", auth_method="private_key_jwt", jwks={"keys": [public]})
    )
    with running_idp(config) as served, httpx.Client() as http:
        value = assertion(served, "enc-key", key=key, header={"kid": "k1"})
        _assertion_error(
            served,
            http,
            value,
            "The public key being used for client assertion has an invalid 'use' parameter. "
            "Valid values for the 'use' parameter are [sig].",
        )


def test_okta_sdk_assertion_shape_is_accepted(served: ServedIdP, http: httpx.Client) -> None:
    # Okta's Python SDK: header {alg, kid}, claims {sub, iat, exp=iat+3000, iss, aud, jti}.
    app = served.idp.config.app("demo-jwt")
    assert app is not None
    jwk = served.idp.client_private_jwk("demo-jwt")
    now = int(served.idp.clock.time())
    claims = {"sub": app.client_id, "iat": now, "exp": now + 3000, "iss": app.client_id,
              "aud": served.url + "/oauth2/v1/token", "jti": "sdk-shaped"}  # fmt: skip
    value = jwt.encode({"alg": "RS256", "kid": jwk["kid"]}, claims, RSAKey.import_key(jwk))
    form = assertion_form(value, grant_type="client_credentials", scope="okta.users.read")
    response = http.post(served.endpoint("token", "org"), data=form)
    assert response.status_code == 200, response.text
