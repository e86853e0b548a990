"""DPoP at the token endpoint (RFC 9449 §4-§8, okta-wire §6, §8.10): nonce dance, binding, proof checks."""

from __future__ import annotations

import time

import httpx
import pytest
from joserfc.jwk import ECKey, thumbprint
from tests.idp.helpers import (
    assertion,
    assertion_form,
    decode_part,
    dpop_key,
    proof,
    unsigned_part,
)
from tests.support.idp_server import ServedIdP, running_idp

from authgate.idp.config import IdPConfig
from authgate.idp.dpop import DPoPProofError, validate_proof

CC = {"grant_type": "client_credentials", "scope": "api:read"}


def send(served: ServedIdP, http: httpx.Client, proofs: list[str]) -> httpx.Response:
    form = assertion_form(assertion(served, "demo-dpop"), **CC)
    headers = [("DPoP", p) for p in proofs]
    return http.post(served.endpoint("token"), data=form, headers=headers)


def expect(response: httpx.Response, error: str, description: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {"error": error, "error_description": description}


def test_nonce_dance_and_bound_token(served: ServedIdP, http: httpx.Client) -> None:
    key = dpop_key()
    url = served.endpoint("token")
    first_assertion = assertion(served, "demo-dpop")
    form = assertion_form(first_assertion, **CC)
    challenge = http.post(url, data=form, headers={"DPoP": proof(key, url)})
    expect(challenge, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof.")
    assert challenge.headers["cache-control"] == "no-cache, no-store"
    assert challenge.headers["pragma"] == "no-cache"
    nonce = challenge.headers["dpop-nonce"]
    # The client assertion was spent by the nonce answer: reusing it is refused (auth first).
    reused = http.post(url, data=form, headers={"DPoP": proof(key, url, nonce=nonce)})
    assert reused.status_code == 401
    assert reused.json()["error_description"] == "The client_assertion token has already been used."
    response = send(served, http, [proof(key, url, nonce=nonce)])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "DPoP"
    claims = decode_part(body["access_token"], 1)
    assert claims["cnf"] == {"jkt": thumbprint(key.as_dict(private=False))}
    introspected = http.post(
        served.endpoint("introspect"),
        data=assertion_form(
            assertion(served, "demo-dpop", endpoint="introspect"), token=body["access_token"]
        ),
    ).json()
    assert introspected["active"] is True
    assert introspected["token_type"] == "DPoP"
    assert introspected["cnf"] == claims["cnf"]


def test_missing_and_multiple_proofs(served: ServedIdP, http: httpx.Client) -> None:
    expect(send(served, http, []), "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
    key = dpop_key()
    url = served.endpoint("token")
    two = [proof(key, url), proof(key, url)]
    expect(
        send(served, http, two),
        "invalid_dpop_proof",
        "Multiple DPoP proof JWT headers are not allowed.",
    )


def _tampered(value: str) -> str:
    head, body, sig = value.split(".")
    return f"{head}.{body}.{sig[:-4]}AAAA"


def test_proof_checks(served: ServedIdP, http: httpx.Client) -> None:
    key = dpop_key()
    url = served.endpoint("token")
    nonce = served.idp.dpop_nonce()
    now = served.idp.clock.time()
    cases = [
        ("not-a-jwt", "The DPoP proof JWT cannot be parsed."),
        (proof(key, url, nonce=nonce, typ="JWT"), "'typ' must be 'dpop+jwt' in the DPoP proof JWT."),
        (_tampered(proof(key, url, nonce=nonce)), "The DPoP proof JWT signature is invalid."),
        (proof(key, url, nonce=nonce, method="GET"), "'htm' claim in the DPoP proof JWT is invalid."),
        (proof(key, url + "x", nonce=nonce), "'htu' claim in the DPoP proof JWT is invalid."),
        (proof(key, url, nonce=nonce, iat=now + 120), "The DPoP proof JWT is issued in the future."),
        (proof(key, url, nonce=nonce, iat=now - 301),
         "The DPoP proof JWT is issued more than five minutes in the past."),
        (proof(key, url, nonce=nonce, exp=int(now) - 1), "The DPoP proof JWT is expired."),
        (proof(key, url, nonce=nonce, jti=""), "'jti' claim in the DPoP proof JWT is invalid."),
    ]  # fmt: skip
    for value, description in cases:
        expect(send(served, http, [value]), "invalid_dpop_proof", description)


def test_query_is_ignored_in_htu_and_replay_refused(served: ServedIdP, http: httpx.Client) -> None:
    key = dpop_key()
    url = served.endpoint("token")
    value = proof(key, url + "?ignored=1", nonce=served.idp.dpop_nonce())
    assert send(served, http, [value]).status_code == 200
    expect(
        send(served, http, [value]),
        "invalid_dpop_proof",
        "The DPoP proof JWT has already been used.",
    )


def test_validate_proof_for_resource_calls(served: ServedIdP) -> None:
    key: ECKey = dpop_key()
    url = served.url + "/api/v1/users"
    token = "an-access-token"
    jkt = validate_proof(proof(key, url, method="GET", access_token=token), method="GET", url=url,
                         access_token=token, idp=served.idp)  # fmt: skip
    assert jkt == thumbprint(key.as_dict(private=False))
    with pytest.raises(DPoPProofError) as info:
        validate_proof(proof(key, url, method="GET", access_token="other"), method="GET", url=url,
                       access_token=token, idp=served.idp)  # fmt: skip
    assert (
        info.value.description
        == "'ath' claim in the DPoP proof does not match the presented access_token."
    )
    assert info.value.status == 400
    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": key.as_dict(private=False)}
    claims = {"htm": "GET", "htu": url, "iat": int(time.time()), "jti": "hs"}
    forged = f"{unsigned_part(header)}.{unsigned_part(claims)}.c2ln"
    with pytest.raises(DPoPProofError) as info:
        validate_proof(forged, method="GET", url=url, idp=served.idp)
    assert info.value.description == "The DPoP proof JWT signature algorithm is invalid."


def test_refresh_token_bound_to_dpop_key() -> None:
    config = IdPConfig.default()
    native = config.app("demo-native")
    assert native is not None
    native.dpop_bound_access_tokens = True
    alice = config.user("alice@example.com")
    assert alice is not None
    with running_idp(config) as served, httpx.Client() as http:
        key, other = dpop_key(), dpop_key()
        url = served.endpoint("token")
        auth = (native.client_id, native.client_secret or "")
        form = {"grant_type": "password", "username": alice.login, "password": alice.password,
                "scope": "openid offline_access api:read"}  # fmt: skip
        nonce = served.idp.dpop_nonce()
        body = http.post(
            url, data=form, auth=auth, headers={"DPoP": proof(key, url, nonce=nonce)}
        ).json()
        assert body["token_type"] == "DPoP"
        refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
        wrong = http.post(
            url, data=refresh, auth=auth, headers={"DPoP": proof(other, url, nonce=nonce)}
        )
        expect(wrong, "invalid_dpop_proof", "Invalid DPoP Public Key binding in refresh token")
        right = http.post(
            url, data=refresh, auth=auth, headers={"DPoP": proof(key, url, nonce=nonce)}
        )
        assert right.status_code == 200, right.text
