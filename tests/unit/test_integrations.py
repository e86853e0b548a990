"""Starlette middleware and FastAPI dependencies over the real verifier, served by uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from tests.support.asgi_server import serve
from tests.support.tokens import AUDIENCE, ISSUER, SigningKey, encode, jwks, okta_claims, rsa_key
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from authgate.authn.chain import AuthenticatorChain
from authgate.authn.jwt import JWTAuthenticator
from authgate.clock import SystemClock
from authgate.integrations.fastapi import Authgate, install
from authgate.integrations.starlette import AuthgateMiddleware, get_principal
from authgate.jose.key_source import StaticKeys
from authgate.jose.keys import KeySet
from authgate.principal import ClaimMapping, Principal
from authgate.verifier import IssuerConfig, TokenVerifier

KEY = rsa_key()


def chain(key: SigningKey = KEY) -> AuthenticatorChain:
    cfg = IssuerConfig(
        ISSUER,
        StaticKeys(KeySet.from_jwks(jwks(key)), description="test"),
        (AUDIENCE,),
        claims=ClaimMapping(default_role="User"),
    )
    return AuthenticatorChain([JWTAuthenticator(TokenVerifier([cfg], clock=SystemClock()))])


def fresh(**claims: object) -> str:
    import time

    return encode(KEY, okta_claims(now=int(time.time()), **claims))


async def whoami(request: Request) -> JSONResponse:
    p = get_principal(request.scope)
    return JSONResponse({"sub": p.subject if p else None})


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("hello " + get_principal(ws.scope).subject)  # type: ignore[union-attr]
    await ws.close()


def starlette_app(mode: str = "required", **kw: object) -> Starlette:
    app = Starlette(routes=[Route("/me", whoami), WebSocketRoute("/ws", echo)])
    app.add_middleware(AuthgateMiddleware, authenticator=chain(), mode=mode, **kw)  # type: ignore[arg-type]
    return app


class Client(httpx.Client):
    ws_url: str


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with serve(starlette_app()) as served, Client(base_url=served.url) as c:
        c.ws_url = served.ws_url
        yield c


def running(app: object) -> Iterator[Client]:
    with serve(app) as served, Client(base_url=served.url) as c:  # type: ignore[arg-type]
        c.ws_url = served.ws_url
        yield c


def ws_close(c: Client, path: str, **headers: str) -> tuple[int | None, str | None]:
    with connect(c.ws_url + path, additional_headers=headers) as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code is not None
        return ws.close_code, ws.close_reason


def test_required_mode_denies_without_token(client: Client) -> None:
    r = client.get("/me")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["code"] == "auth.missing_token"


def test_valid_token_reaches_the_app(client: Client) -> None:
    r = client.get("/me", headers={"Authorization": f"Bearer {fresh()}"})
    assert r.status_code == 200
    assert r.json() == {"sub": "alice@example.com"}


def test_bad_token_gets_invalid_token_challenge(client: Client) -> None:
    r = client.get("/me", headers={"Authorization": f"Bearer {fresh(aud='api://other')}"})
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    body = r.json()
    assert body["code"] == "auth.invalid_audience"
    assert "api://default" in body["message"]


def test_optional_mode() -> None:
    for c in running(starlette_app("optional")):
        assert c.get("/me").json() == {"sub": None}
        assert c.get("/me", headers={"Authorization": "Bearer a.b.c"}).status_code == 401


def test_disabled_mode() -> None:
    for c in running(starlette_app("disabled")):
        assert c.get("/me").status_code == 200


def test_websocket_header_auth_and_policy_violation_close(client: Client) -> None:
    with connect(
        client.ws_url + "/ws", additional_headers={"Authorization": f"Bearer {fresh()}"}
    ) as ws:
        assert ws.recv(timeout=5) == "hello alice@example.com"
    assert ws_close(client, "/ws") == (1008, "auth.missing_token")
    bad = {"Authorization": f"Bearer {fresh(aud='x')}"}
    assert ws_close(client, "/ws", **bad) == (1008, "auth.invalid_audience")


def test_websocket_query_token_only_when_enabled(client: Client) -> None:
    token = fresh()
    assert ws_close(client, f"/ws?access_token={token}") == (1008, "auth.missing_token")
    for c in running(starlette_app(websocket_query_token=True)):
        with connect(c.ws_url + f"/ws?access_token={token}") as ws:
            assert ws.recv(timeout=5) == "hello alice@example.com"


# Module level: FastAPI evaluates string annotations in the module's globals.
AUTH = Authgate(chain())
Caller = Annotated[Principal, Depends(AUTH.principal)]
AdminCaller = Annotated[Principal, Depends(AUTH.require_role("Admin"))]
ScopedCaller = Annotated[Principal, Depends(AUTH.require_scopes("api:admin"))]
MemberCaller = Annotated[Principal, Depends(AUTH.require_workspace())]


def fastapi_app() -> FastAPI:
    app = FastAPI()
    install(app)

    @app.get("/api/v1/policies")
    async def read(p: Caller) -> dict[str, str]:
        return {"sub": p.subject}

    @app.post("/api/v1/policies")
    async def write(p: AdminCaller) -> dict[str, str]:
        return {"ok": p.subject}

    @app.get("/needs-scope")
    async def scoped(p: ScopedCaller) -> dict[str, str]:
        return {"ok": p.subject}

    @app.get("/w/{workspace_id}/items")
    async def items(workspace_id: str, p: MemberCaller) -> dict[str, str]:
        return {"ws": workspace_id}

    return app


def test_fastapi_dependencies() -> None:
    for c in running(fastapi_app()):
        assert c.get("/api/v1/policies").status_code == 401
        user = {"Authorization": f"Bearer {fresh()}"}
        assert c.get("/api/v1/policies", headers=user).json() == {"sub": "alice@example.com"}
        r = c.post("/api/v1/policies", headers=user)
        assert r.status_code == 403
        assert r.json()["code"] == "auth.role_missing"
        assert r.json()["message"].startswith("Admin role missing")
        admin = {"Authorization": f"Bearer {fresh(role='Admin')}"}
        assert c.post("/api/v1/policies", headers=admin).status_code == 200
        r = c.get("/needs-scope", headers=user)
        assert r.status_code == 403
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
        assert 'scope="api:admin"' in r.headers["www-authenticate"]
        ws_user = {"Authorization": f"Bearer {fresh(workspace_ids=['w1'])}"}
        assert c.get("/w/w1/items", headers=ws_user).status_code == 200
        r = c.get("/w/w2/items", headers=ws_user)
        assert r.status_code == 403
        assert r.json()["code"] == "auth.workspace_denied"


def test_dpop_bound_token_sent_as_bearer_is_refused(client: Client) -> None:
    r = client.get("/me", headers={"Authorization": f"Bearer {fresh(cnf={'jkt': 'abc'})}"})
    assert r.status_code == 401
    assert r.json()["code"] == "auth.dpop_required"
    assert r.headers["www-authenticate"].startswith("DPoP ")


def test_dpop_scheme_refused_when_dpop_not_enabled(client: Client) -> None:
    r = client.get(
        "/me", headers={"Authorization": f"DPoP {fresh(cnf={'jkt': 'abc'})}", "DPoP": "x.y.z"}
    )
    assert r.status_code == 400
    assert r.json()["code"] == "auth.invalid_request"
