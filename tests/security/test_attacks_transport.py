"""Security test list — Transport (RFC 6750 §2.1, RFC 9449 §4.3/§7) and Refetch limit (RFC 7517).

HTTP cases run against a real uvicorn-served Starlette app with ``AuthgateMiddleware`` over
``AuthenticatorChain([JWTAuthenticator(verifier, dpop=DPoPVerifier())])``, spoken to with httpx;
each asserts the status and the stable ``code`` in the JSON body. DPoP proofs are built here
with an EC key (``jwk`` in the header, ``typ: dpop+jwt``). The refetch cases point a
``RemoteJWKS`` at the loopback JWKS server and count its requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from tests.security.conftest import VERIFY_AT, Keys
from tests.support.asgi_server import serve
from tests.support.jwks_server import JWKSServer
from tests.support.tokens import (
    AUDIENCE,
    ISSUER,
    SigningKey,
    b64,
    ec_key,
    encode,
    jwks,
    okta_claims,
)

from authgate.authn.chain import AuthenticatorChain
from authgate.authn.jwt import JWTAuthenticator
from authgate.clock import ManualClock
from authgate.errors import AuthError, ErrorCode
from authgate.integrations.starlette import AuthgateMiddleware, get_principal
from authgate.jose.dpop import DPoPVerifier, jwk_thumbprint
from authgate.jose.jwks import JWKSOptions, RemoteJWKS
from authgate.jose.key_source import StaticKeys
from authgate.jose.keys import KeySet
from authgate.verifier import IssuerConfig, TokenVerifier


async def whoami(request: Request) -> JSONResponse:
    principal = get_principal(request.scope)
    assert principal is not None
    return JSONResponse({"sub": principal.subject, "scopes": sorted(principal.scopes)})


@pytest.fixture(scope="module")
def client(keys: Keys) -> Iterator[httpx.Client]:
    clock = ManualClock(VERIFY_AT)
    source = StaticKeys(KeySet.from_jwks(jwks(keys.rsa)), description="transport")
    verifier = TokenVerifier([IssuerConfig(ISSUER, source, (AUDIENCE,))], clock=clock)
    chain = AuthenticatorChain([JWTAuthenticator(verifier, dpop=DPoPVerifier(clock=clock))])
    app = Starlette(routes=[Route("/me", whoami, methods=["GET", "POST"])])
    app.add_middleware(AuthgateMiddleware, authenticator=chain)  # type: ignore[arg-type]
    with serve(app) as served, httpx.Client(base_url=served.url) as http:
        yield http


def expect(response: httpx.Response, status: int, code: ErrorCode) -> None:
    is_json = response.headers.get("content-type", "").startswith("application/json")
    got = response.json().get("code") if is_json else None
    assert (response.status_code, got) == (status, str(code)), response.text[:300]


# -- scp, Authorization header shapes -----------------------------------------------------------------
@pytest.mark.parametrize(
    "scp",
    [["api:read", "api:write"], "api:read api:write", "api:write  api:read"],
    ids=["list", "space-string", "double-space-string"],
)
def test_scp_string_and_list_normalise(client: httpx.Client, keys: Keys, scp: Any) -> None:
    token = encode(keys.rsa, okta_claims(scp=scp))
    response = client.get("/me", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["scopes"] == ["api:read", "api:write"]


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_scheme_is_case_insensitive(client: httpx.Client, keys: Keys, scheme: str) -> None:
    token = encode(keys.rsa, okta_claims())
    response = client.get("/me", headers={"authorization": f"{scheme} {token}"})
    assert response.status_code == 200
    assert response.json()["sub"] == "alice@example.com"


@pytest.mark.parametrize("second", ["same-token", "other-token"])
def test_two_authorization_headers(client: httpx.Client, keys: Keys, second: str) -> None:
    token = encode(keys.rsa, okta_claims())
    other = token if second == "same-token" else encode(keys.rsa, okta_claims(sub="mallory"))
    headers = [("authorization", f"Bearer {token}"), ("authorization", f"Bearer {other}")]
    expect(client.get("/me", headers=headers), 400, ErrorCode.INVALID_REQUEST)


@pytest.mark.parametrize(
    ("value", "status", "code"),
    [
        ("Bearer", 400, ErrorCode.INVALID_REQUEST),
        ("Bearer a.b.c d", 400, ErrorCode.INVALID_REQUEST),
        ('Bearer "a.b.c"', 400, ErrorCode.INVALID_REQUEST),
        ("Bearer a.b.c", 401, ErrorCode.MALFORMED_TOKEN),
        ("Basic dXNlcjpwYXNz", 401, ErrorCode.MISSING_TOKEN),
    ],
    ids=["no-token", "two-words", "quoted", "not-a-jws", "basic"],
)
def test_authorization_header_shapes(
    client: httpx.Client, value: str, status: int, code: ErrorCode
) -> None:
    expect(client.get("/me", headers={"authorization": value}), status, code)


def test_no_credential(client: httpx.Client) -> None:
    expect(client.get("/me"), 401, ErrorCode.MISSING_TOKEN)


# -- DPoP -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def holder() -> SigningKey:
    """The client's DPoP key (EC P-256); its thumbprint goes into the token's ``cnf.jkt``."""
    return ec_key("dpop-holder")


def bound_token(keys: Keys, holder: SigningKey) -> str:
    return encode(keys.rsa, okta_claims(cnf={"jkt": jwk_thumbprint(holder.jwk)}))


def make_proof(
    key: SigningKey, token: str, url: str, *, header: dict[str, Any] | None = None, **claims: Any
) -> str:
    body: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": "GET",
        "htu": url,
        "iat": VERIFY_AT,
        "ath": b64(hashlib.sha256(token.encode()).digest()),
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not ...}
    public = {k: v for k, v in key.jwk.items() if k != "kid"}
    return encode(
        key, body, header={"typ": "dpop+jwt", "alg": key.alg, "jwk": public, **(header or {})}
    )


def dpop_get(client: httpx.Client, token: str, proof: str | None) -> httpx.Response:
    headers = {"authorization": f"DPoP {token}"}
    if proof is not None:
        headers["dpop"] = proof
    return client.get("/me", headers=headers)


def me_url(client: httpx.Client) -> str:
    return str(client.base_url.join("/me"))


def test_dpop_control_passes(client: httpx.Client, keys: Keys, holder: SigningKey) -> None:
    token = bound_token(keys, holder)
    response = dpop_get(client, token, make_proof(holder, token, me_url(client)))
    assert response.status_code == 200, response.text


def test_dpop_bound_token_sent_as_bearer(
    client: httpx.Client, keys: Keys, holder: SigningKey
) -> None:
    token = bound_token(keys, holder)
    proof = make_proof(holder, token, me_url(client))
    for headers in ({}, {"dpop": proof}):
        response = client.get("/me", headers={"authorization": f"Bearer {token}", **headers})
        expect(response, 401, ErrorCode.DPOP_REQUIRED)


def test_replayed_dpop_proof(client: httpx.Client, keys: Keys, holder: SigningKey) -> None:
    token = bound_token(keys, holder)
    proof = make_proof(holder, token, me_url(client))
    assert dpop_get(client, token, proof).status_code == 200
    expect(dpop_get(client, token, proof), 401, ErrorCode.INVALID_DPOP_PROOF)


@pytest.mark.parametrize(
    "mutation",
    [
        pytest.param({"htm": "POST"}, id="htm-POST-for-GET"),
        pytest.param({"htm": "get"}, id="htm-lower-case"),
        pytest.param({"htm": ...}, id="htm-missing"),
        pytest.param({"htu": "http://127.0.0.1:1/me"}, id="htu-other-port"),
        pytest.param({"htu": "http://evil.example/me"}, id="htu-other-host"),
        pytest.param({"htu": "{base}other"}, id="htu-other-path"),
        pytest.param({"htu": "{base}me/"}, id="htu-trailing-slash"),
        pytest.param({"htu": "https://127.0.0.1:{port}/me"}, id="htu-https-for-http"),
        pytest.param({"htu": ...}, id="htu-missing"),
        pytest.param({"htu": "http://["}, id="htu-unparsable-url"),
        pytest.param({"ath": b64(hashlib.sha256(b"another token").digest())}, id="ath-other"),
        pytest.param({"ath": ...}, id="ath-missing"),
        pytest.param({"iat": VERIFY_AT - 3600}, id="iat-an-hour-old"),
        pytest.param({"iat": VERIFY_AT + 3600}, id="iat-future"),
        pytest.param({"jti": ...}, id="jti-missing"),
        pytest.param({"header": {"typ": "JWT"}}, id="typ-JWT"),
    ],
)
def test_mismatched_dpop_proof(
    client: httpx.Client, keys: Keys, holder: SigningKey, mutation: dict[str, Any]
) -> None:
    token = bound_token(keys, holder)
    base = me_url(client)[: -len("me")]
    port = str(client.base_url.port)
    claims = {
        k: v.format(base=base, port=port) if isinstance(v, str) else v
        for k, v in mutation.items()
        if k != "header"
    }
    proof = make_proof(holder, token, me_url(client), header=mutation.get("header"), **claims)
    expect(dpop_get(client, token, proof), 401, ErrorCode.INVALID_DPOP_PROOF)


def test_dpop_proof_from_another_key(client: httpx.Client, keys: Keys, holder: SigningKey) -> None:
    token = bound_token(keys, holder)
    thief = ec_key("thief")
    proof = make_proof(thief, token, me_url(client))
    expect(dpop_get(client, token, proof), 401, ErrorCode.DPOP_BINDING_MISMATCH)


def test_dpop_scheme_without_proof(client: httpx.Client, keys: Keys, holder: SigningKey) -> None:
    expect(dpop_get(client, bound_token(keys, holder), None), 401, ErrorCode.DPOP_REQUIRED)


def test_unbound_token_with_dpop_scheme(
    client: httpx.Client, keys: Keys, holder: SigningKey
) -> None:
    token = encode(keys.rsa, okta_claims())
    proof = make_proof(holder, token, me_url(client))
    expect(dpop_get(client, token, proof), 401, ErrorCode.DPOP_BINDING_MISMATCH)


def test_dpop_hostile_host_header(client: httpx.Client, keys: Keys, holder: SigningKey) -> None:
    """The request URL (``htu`` target) is built from Host; an unparsable one is a refusal."""
    token = bound_token(keys, holder)
    proof = make_proof(holder, token, me_url(client))  # a good htu: only Host is hostile
    response = client.get(
        "/me", headers={"authorization": f"DPoP {token}", "dpop": proof, "host": "["}
    )
    expect(response, 401, ErrorCode.INVALID_DPOP_PROOF)


# -- refetch limit ------------------------------------------------------------------------------------
def random_kid_tokens(key: SigningKey, count: int) -> list[str]:
    return [encode(key, okta_claims(), kid=secrets.token_hex(8)) for _ in range(count)]


@pytest.fixture
def issuer_jwks(keys: Keys) -> Iterator[JWKSServer]:
    with JWKSServer() as server:
        server.set_keys([keys.ec.jwk], cache_control="max-age=3600")
        yield server


@pytest.mark.anyio
async def test_thousand_random_kids_cost_one_fetch_per_cooldown(
    keys: Keys, issuer_jwks: JWKSServer
) -> None:
    clock = ManualClock(VERIFY_AT)
    source = RemoteJWKS(issuer_jwks.jwks_url, clock=clock, options=JWKSOptions(cooldown=30))
    verifier = TokenVerifier(
        [IssuerConfig(ISSUER, source, (AUDIENCE,), frozenset({"ES256"}))], clock=clock
    )

    async def storm() -> None:
        results = await asyncio.gather(
            *(verifier.averify(t) for t in random_kid_tokens(keys.ec, 1000)),
            return_exceptions=True,
        )
        codes = {r.code if isinstance(r, AuthError) else repr(r) for r in results}
        assert codes == {ErrorCode.UNKNOWN_KEY}

    try:
        await storm()  # cold cache: the storm shares the first load
        assert issuer_jwks.fetch_count == 1
        clock.advance(29)
        await storm()  # inside the cooldown: nothing new is fetched
        assert issuer_jwks.fetch_count == 1
        clock.advance(2)
        await storm()  # next cooldown window: exactly one more fetch
        assert issuer_jwks.fetch_count == 2
        assert (await verifier.averify(encode(keys.ec, okta_claims()))).subject
        assert issuer_jwks.fetch_count == 2
    finally:
        await source.aclose()


def test_thousand_random_kids_from_threads_cost_one_fetch(
    keys: Keys, issuer_jwks: JWKSServer
) -> None:
    clock = ManualClock(VERIFY_AT)
    source = RemoteJWKS(issuer_jwks.jwks_url, clock=clock, options=JWKSOptions(cooldown=30))
    verifier = TokenVerifier(
        [IssuerConfig(ISSUER, source, (AUDIENCE,), frozenset({"ES256"}))], clock=clock
    )

    def attempt(token: str) -> ErrorCode | None:
        try:
            verifier.verify(token)
        except AuthError as error:
            return error.code
        return None

    try:
        with ThreadPoolExecutor(max_workers=32) as pool:
            codes = set(pool.map(attempt, random_kid_tokens(keys.ec, 1000)))
        assert codes == {ErrorCode.UNKNOWN_KEY}
        assert issuer_jwks.fetch_count == 1
    finally:
        source.close()
