"""Authorization code flow with PKCE S256 through the HTML sign-in page (RFC 6749 §4.1, RFC 7636)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import parse_qs, urlsplit

import httpx
from tests.idp.helpers import decode_part
from tests.support.idp_server import ServedIdP

from authgate.idp.endpoints.authorize import totp_ok

REDIRECT = "http://127.0.0.1:8765/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


def params(
    served: ServedIdP, challenge: str, app: str = "demo-spa", **extra: str
) -> dict[str, str]:
    client = served.idp.config.app(app)
    assert client is not None
    return {"client_id": client.client_id, "response_type": "code", "redirect_uri": REDIRECT,
            "scope": "openid profile email offline_access api:read", "state": "st-1", "nonce": "n-1",
            "code_challenge": challenge, "code_challenge_method": "S256", **extra}  # fmt: skip


def sign_in(
    http: httpx.Client,
    served: ServedIdP,
    query: dict[str, str],
    login: str,
    password: str,
    passcode: str = "",
) -> httpx.Response:
    url = served.endpoint("authorize")
    page = http.get(url, params=query)
    assert page.status_code == 200
    assert "<form" in page.text
    return http.post(
        url, data={**query, "username": login, "password": password, "passcode": passcode}
    )


def test_code_flow_with_pkce(served: ServedIdP, http: httpx.Client) -> None:
    verifier, challenge = pkce()
    query = params(served, challenge)
    redirect = sign_in(http, served, query, "alice@example.com", "Alice-DEV-only-1")
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    got = parse_qs(location.query)
    assert got["state"] == ["st-1"]
    code = got["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier, "client_id": query["client_id"]}  # fmt: skip
    response = http.post(served.endpoint("token"), data=form)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"access_token", "id_token", "refresh_token"} <= set(body)
    id_claims = decode_part(body["id_token"], 1)
    assert id_claims["nonce"] == "n-1"
    assert id_claims["email"] == "alice@example.com"
    # Codes are single use.
    again = http.post(served.endpoint("token"), data=form)
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "The authorization code is invalid or has expired.",
    }
    info = http.get(
        served.endpoint("userinfo"), headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.json()["preferred_username"] == "alice@example.com"


def test_pkce_and_redirect_mismatch(served: ServedIdP, http: httpx.Client) -> None:
    _, challenge = pkce()
    query = params(served, challenge)
    for form_change, description in (
        ({"code_verifier": "wrong-verifier-wrong-verifier-wrong-verifier"}, "PKCE verification failed."),
        ({"redirect_uri": "http://127.0.0.1:8765/other"},
         "The 'redirect_uri' does not match the redirection URI used in the authorization request."),
    ):  # fmt: skip
        code = parse_qs(
            urlsplit(
                sign_in(http, served, query, "bob@example.com", "Bob-DEV-only-1").headers[
                    "location"
                ]
            ).query
        )["code"][0]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "client_id": query["client_id"], "code_verifier": "x" * 43, **form_change}  # fmt: skip
        response = http.post(served.endpoint("token"), data=form)
        assert response.json() == {"error": "invalid_grant", "error_description": description}


def test_bad_requests_are_shown_not_redirected(served: ServedIdP, http: httpx.Client) -> None:
    _, challenge = pkce()
    bad_client = http.get(
        served.endpoint("authorize"), params=params(served, challenge, client_id="0oaNOPE")
    )
    assert bad_client.status_code == 400
    assert "Invalid value for &#x27;client_id&#x27; parameter." in bad_client.text
    bad_redirect = http.get(
        served.endpoint("authorize"),
        params=params(served, challenge, redirect_uri="https://evil.example/cb"),
    )
    assert bad_redirect.status_code == 400
    no_pkce = params(served, challenge)
    del no_pkce["code_challenge"]
    redirect = http.get(served.endpoint("authorize"), params=no_pkce)
    assert redirect.status_code == 302
    assert parse_qs(urlsplit(redirect.headers["location"]).query)["error"] == ["invalid_request"]


def totp(secret: str, at: float) -> str:
    key = base64.b32decode(secret)
    digest = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def test_wrong_password_and_totp(served: ServedIdP, http: httpx.Client) -> None:
    _, challenge = pkce()
    query = params(served, challenge)
    assert sign_in(http, served, query, "alice@example.com", "nope").status_code == 401
    now = served.idp.clock.time()
    valid = {totp("JBSWY3DPEHPK3PXP", now + step * 30) for step in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
    carol = ("carol@example.com", "Carol-DEV-only-1")
    assert sign_in(http, served, query, *carol, wrong).status_code == 401
    assert sign_in(http, served, query, *carol, totp("JBSWY3DPEHPK3PXP", now)).status_code == 302
    assert totp_ok("JBSWY3DPEHPK3PXP", totp("JBSWY3DPEHPK3PXP", now), now)
