"""DESIGN.md security test list as HTTP requests, against ``/authz`` AND the reverse proxy.

One real uvicorn-served gateway per shape; the proxy shape runs K's ``ReverseProxy`` in front of
a real echo upstream. Each attack asserts the HTTP status and the stable code; every refusal
also proves the upstream was never reached (the echo upstream counts its requests).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from tests.gateway.conftest import (
    VERIFY_AT,
    Gateway,
    MakeGateway,
    dpop_proof,
    echo_upstream,
    serve_gateway,
    thumbprint,
)
from tests.support.asgi_server import Served, serve
from tests.support.tokens import (
    AUDIENCE,
    ISSUER,
    SigningKey,
    b64,
    encode,
    hs_key,
    okta_claims,
    rsa_key,
)

from authgate.gateway.proxy import ReverseProxy

SHAPES = ["authz", "proxy"]


@functools.cache
def ATTACKER() -> SigningKey:
    """An RSA key the issuer never published (made once: RSA generation is slow)."""
    return rsa_key("evil-rsa")


class Target:
    """Sends "the request GET|POST path" to a gateway in one of the two shapes."""

    def __init__(self, shape: str, gw: Gateway, base: str) -> None:
        self.shape, self.gw, self.base = shape, gw, base
        self.http = httpx.Client(base_url=base, timeout=10)

    def url(self, path: str) -> str:
        """The URL the client believes it calls (DPoP ``htu``)."""
        return f"http://api.test{path}" if self.shape == "authz" else f"{self.base}{path}"

    def send(
        self, method: str, path: str, headers: list[tuple[str, str]] | None = None
    ) -> httpx.Response:
        extra = list(headers or [])
        if self.shape == "authz":
            forwarded = [
                ("X-Original-Method", method),
                ("X-Original-URI", path),
                ("X-Original-Host", "api.test"),
            ]
            return self.http.get("/authz", headers=forwarded + extra)
        return self.http.request(method, path, headers=extra)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Served]:
    with serve(echo_upstream) as served:
        yield served


@pytest.fixture(params=SHAPES)
def target(
    request: pytest.FixtureRequest, make_gateway: MakeGateway, upstream: Served
) -> Iterator[Target]:
    shape = request.param
    proxy = ReverseProxy(upstream.url) if shape == "proxy" else None
    gw = make_gateway(upstream=proxy, identity_assertion=True, assertion=True)
    if proxy is not None:
        gw.components.shutdown.append(proxy.aclose)  # pool closed on the server's own loop
    with serve_gateway(gw.app) as served:
        t = Target(shape, gw, served.url)
        yield t
        t.http.close()


def expect(response: httpx.Response, status: int, code: str) -> None:
    got = (
        response.json().get("code")
        if response.headers.get("content-type", "").startswith("application/json")
        else None
    )
    assert (response.status_code, got) == (status, code), response.text[:300]


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def forged_header(
    key: SigningKey, header: dict[str, Any], claims: dict[str, Any] | None = None
) -> str:
    return encode(key, claims or okta_claims(), header=header)


ATTACKS: list[tuple[str, Callable[[Gateway], str], str]] = [
    ("alg-none", lambda gw: encode(None, okta_claims(), alg="none"), "auth.unsupported_algorithm"),
    (
        "alg-NoNe",
        lambda gw: encode(None, okta_claims(), header={"alg": "NoNe", "kid": "gw-rsa"}),
        "auth.unsupported_algorithm",
    ),
    ("stripped-signature", lambda gw: gw.token().rsplit(".", 1)[0] + ".", "auth.invalid_signature"),
    (
        "hs256-keyed-with-rsa-public-pem",
        lambda gw: encode(
            hs_key(
                "gw-rsa",
                gw.key.private.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
            ),
            okta_claims(),
            alg="HS256",
        ),
        "auth.unsupported_algorithm",
    ),
    (
        "embedded-jwk",
        lambda gw: forged_header(
            ATTACKER(), {"alg": "RS256", "kid": "gw-rsa", "jwk": ATTACKER().jwk}
        ),
        "auth.invalid_signature",
    ),
    (
        "jku",
        lambda gw: forged_header(
            ATTACKER(), {"alg": "RS256", "kid": "gw-rsa", "jku": "https://evil/k"}
        ),
        "auth.invalid_signature",
    ),
    (
        "kid-traversal",
        lambda gw: forged_header(gw.key, {"alg": "RS256", "kid": "../../etc/passwd"}),
        "auth.unknown_key",
    ),
    ("iss-prefix", lambda gw: gw.token(iss=ISSUER + "x"), "auth.invalid_issuer"),
    ("iss-case", lambda gw: gw.token(iss=ISSUER.upper()), "auth.invalid_issuer"),
    ("aud-missing", lambda gw: gw.token(aud=...), "auth.invalid_audience"),
    ("aud-other", lambda gw: gw.token(aud="api://other"), "auth.invalid_audience"),
    ("expired", lambda gw: gw.token(exp=VERIFY_AT - 3600), "auth.token_expired"),
    ("exp-as-string", lambda gw: gw.token(exp=str(VERIFY_AT + 3600)), "auth.invalid_claim"),
    ("nbf-future", lambda gw: gw.token(nbf=VERIFY_AT + 3600), "auth.token_not_yet_valid"),
    (
        "duplicate-json-keys",
        lambda gw: encode(
            gw.key,
            json.dumps(okta_claims())
            .replace('"sub": "alice@example.com"', '"sub": "alice@example.com", "sub": "admin"')
            .encode(),
        ),
        "auth.malformed_token",
    ),
    (
        "jwe",
        lambda gw: "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d",
        "auth.malformed_token",
    ),
    ("oversized", lambda gw: gw.token(pad="x" * 20_000), "auth.token_too_large"),
]


@pytest.mark.parametrize(("name", "make", "code"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_token_attacks(
    target: Target, name: str, make: Callable[[Gateway], str], code: str
) -> None:
    response = target.send("GET", "/api/v1/policies", bearer(make(target.gw)))
    expect(response, 401, code)
    assert "www-authenticate" in response.headers


def test_valid_token_passes_and_upstream_sees_verified_identity(target: Target) -> None:
    response = target.send(
        "GET", "/api/v1/policies", [*bearer(target.gw.token()), ("X-Authgate-Subject", "root")]
    )
    assert response.status_code == 200, response.text
    if target.shape == "authz":
        identity = {k: v for k, v in response.headers.items() if k.startswith("x-authgate-")}
    else:
        identity = dict(response.json()["headers"])
        assert "authorization" not in identity  # the caller's token is not forwarded by default
    assert identity["x-authgate-subject"] == "alice@example.com"
    assertion = identity["x-authgate-assertion"]
    jwks = httpx.get(target.base + "/.well-known/jwks.json").json()
    key = pyjwt.PyJWK(jwks["keys"][0])
    claims = pyjwt.decode(assertion, key, algorithms=["ES256"], options={"verify_exp": False})
    assert claims["sub"] == "alice@example.com"
    assert claims["iss"] == "https://gateway.test"


def test_transport_attacks(target: Target) -> None:
    token = target.gw.token()
    two = [("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
    two_status = 401 if target.shape == "authz" else 400
    expect(target.send("GET", "/api/v1/policies", two), two_status, "auth.invalid_request")
    lower = target.send("GET", "/api/v1/policies", [("Authorization", f"bearer {token}")])
    assert lower.status_code == 200
    scp_string = target.gw.token(scp="api:read api:write")
    assert target.send("GET", "/api/v1/policies", bearer(scp_string)).status_code == 200


def test_dpop_bound_token(target: Target, dpop_key: SigningKey) -> None:
    token = target.gw.token(cnf={"jkt": thumbprint(dpop_key)})
    url = target.url("/api/v1/secure")
    expect(target.send("GET", "/api/v1/secure", bearer(token)), 401, "auth.dpop_required")
    proof = dpop_proof(dpop_key, "GET", url, token)
    ok = target.send("GET", "/api/v1/secure", [("Authorization", f"DPoP {token}"), ("DPoP", proof)])
    assert ok.status_code == 200, ok.text
    replay = target.send(
        "GET", "/api/v1/secure", [("Authorization", f"DPoP {token}"), ("DPoP", proof)]
    )
    expect(replay, 401, "auth.invalid_dpop_proof")
    for bad in (
        dpop_proof(dpop_key, "POST", url, token),
        dpop_proof(dpop_key, "GET", url.replace("secure", "other"), token),
        dpop_proof(dpop_key, "GET", url, token + "x"),
    ):
        expect(
            target.send(
                "GET", "/api/v1/secure", [("Authorization", f"DPoP {token}"), ("DPoP", bad)]
            ),
            401,
            "auth.invalid_dpop_proof",
        )


def test_route_requiring_dpop_refuses_plain_bearer(target: Target) -> None:
    response = target.send("GET", "/api/v1/secure", bearer(target.gw.token()))
    expect(response, 401, "auth.dpop_required")  # RFC 9449 §7.1: a DPoP challenge
    assert response.headers["www-authenticate"].startswith("DPoP")


def test_forwarding_headers_from_untrusted_peer(
    make_gateway: MakeGateway, upstream: Served
) -> None:
    """With no trusted proxy, X-Original-*/X-Forwarded-* cannot move the decision."""
    gw = make_gateway(trusted_proxies=[])
    with serve(gw.app) as served, httpx.Client(base_url=served.url) as http:
        for headers in (
            {"X-Original-URI": "/api/v1/health"},
            {"X-Forwarded-Uri": "/api/v1/health", "X-Forwarded-Method": "GET"},
            {"Forwarded": "for=1.2.3.4;host=api.test", "X-Original-URI": "/api/v1/health"},
        ):
            expect(http.get("/authz", headers=headers), 403, "auth.access_denied")


def test_ambiguous_paths_refused_by_the_proxy(target: Target) -> None:
    if target.shape == "authz":
        response = target.send("GET", "/api/v1/health/../policies")
    else:
        raw = httpx.Request("GET", target.base + "/api/v1/health")
        raw.url = raw.url.copy_with(raw_path=b"/api/v1/health/%2e%2e/policies")
        response = target.http.send(raw)
    expect(response, 403, "auth.access_denied")


def test_base64_helper_is_url_safe() -> None:
    assert b64(b"\xff\xfe") == base64.urlsafe_b64encode(b"\xff\xfe").rstrip(b"=").decode()


def test_audience_is_ours() -> None:
    assert AUDIENCE == "api://default"
