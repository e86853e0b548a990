"""Admin HTTP API for tokens: scopes, JSON bodies, stable error codes, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.admin_api.tokens import token_routes
from authgate.authn.base import Credential
from authgate.authn.service_token import ServiceTokenAuthenticator
from authgate.clock import ManualClock
from authgate.fingerprint import fingerprint
from authgate.observability.audit import AuditEvent, AuditLog
from authgate.principal import Principal, PrincipalKind
from authgate.service_tokens.admin import TokenAdmin
from authgate.service_tokens.store import TokenStore

pytestmark = pytest.mark.anyio


class ListSink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    async def write(self, events: list[AuditEvent]) -> None:
        self.events.extend(events)


class FakeAuthMiddleware:
    """Stand-in for the auth middleware: ``X-Test-Scopes`` becomes the caller's scopes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        scopes = headers.get(b"x-test-scopes")
        if scopes is not None:
            scope["authgate.principal"] = Principal(
                subject="admin-bot",
                kind=PrincipalKind.SERVICE,
                scopes=frozenset(scopes.decode().split()),
            )
        await self.app(scope, receive, send)


READ = {"x-test-scopes": "admin:tokens:read"}
WRITE = {"x-test-scopes": "admin:tokens:read admin:tokens:write"}


@pytest.fixture
async def env(
    tmp_path: Path,
) -> AsyncIterator[tuple[httpx.AsyncClient, TokenStore, ListSink, AuditLog]]:
    clock = ManualClock()
    store = TokenStore(f"sqlite:///{tmp_path / 'api.db'}", clock=clock)
    await store.migrate()
    sink = ListSink()
    audit = AuditLog([sink], clock=clock)
    app = Starlette(routes=token_routes(TokenAdmin(store, clock=clock, audit=audit), clock=clock))
    transport = httpx.ASGITransport(app=FakeAuthMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        yield client, store, sink, audit
    await audit.aclose()
    await store.aclose()


async def test_full_lifecycle_over_http(
    env: tuple[httpx.AsyncClient, TokenStore, ListSink, AuditLog],
) -> None:
    client, store, _, _ = env
    created = await client.post(
        "/tokens",
        headers=WRITE,
        json={"id": "deployer", "scopes": ["deploy"], "workspaces": ["w1"], "expires_in": "30d"},
    )
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    token = created.json()["token"]
    assert created.json()["record"]["created_by"] == "admin-bot"
    auth = ServiceTokenAuthenticator(store, clock=store.clock, cache_size=0)
    assert await auth.authenticate(Credential(token)) is not None

    listed = await client.get("/tokens", headers=READ)
    assert [(t["id"], t["status"]) for t in listed.json()["tokens"]] == [("deployer", "active")]
    assert token not in listed.text
    shown = await client.get("/tokens/deployer", headers=READ)
    assert shown.json()["scopes"] == ["deploy"]

    rotated = await client.post("/tokens/deployer/rotate", headers=WRITE, json={"overlap": 0})
    assert rotated.status_code == 200
    assert rotated.json()["token"] != token
    revoked = await client.post("/tokens/deployer/revoke", headers=WRITE, json={"reason": "done"})
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revoke_reason"] == "done"
    assert (await store.require("deployer")).revoked_at is not None


async def test_every_action_is_audited_with_the_actor(
    env: tuple[httpx.AsyncClient, TokenStore, ListSink, AuditLog],
) -> None:
    client, _, sink, audit = env
    token = (await client.post("/tokens", headers=WRITE, json={"id": "aud"})).json()["token"]
    await client.get("/tokens/aud", headers=READ)
    await client.get("/tokens/missing", headers=READ)
    await client.post("/tokens/aud/revoke", headers=WRITE, json={"reason": "r"})
    await client.get("/tokens", headers=READ)
    await audit.flush()
    assert [(e.action, e.outcome, e.token_id) for e in sink.events] == [
        ("token.create", "success", "aud"),
        ("token.show", "success", "aud"),
        ("token.show", "failure", "missing"),
        ("token.revoke", "success", "aud"),
        ("token.list", "success", None),
    ]
    assert {e.subject for e in sink.events} == {"admin-bot"}
    assert sink.events[0].token_fingerprint == fingerprint(token)
    assert token not in repr(sink.events)


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code"),
    [
        ("GET", "/tokens", {}, 401, "auth.missing_token"),
        ("GET", "/tokens", {"x-test-scopes": "other"}, 403, "auth.insufficient_scope"),
        ("POST", "/tokens", READ, 403, "auth.insufficient_scope"),
        ("POST", "/tokens/x/rotate", READ, 403, "auth.insufficient_scope"),
        ("POST", "/tokens/x/revoke", READ, 403, "auth.insufficient_scope"),
        ("GET", "/tokens/nope", READ, 404, "auth.invalid_request"),
        ("POST", "/tokens/nope/rotate", WRITE, 404, "auth.invalid_request"),
    ],
)
async def test_refusals_have_stable_codes(
    env: tuple[httpx.AsyncClient, TokenStore, ListSink, AuditLog],
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    client, _, _, _ = env
    response = await client.request(method, path, headers=headers)
    assert response.status_code == status
    assert response.json()["code"] == code
    if status in (401, 403):
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"scopes": "a", "id": 5}', 400, "'id' must be a string"),
        (b'{"scopes": [1]}', 400, "list of strings"),
        (b'{"expires_in": "soon"}', 400, "duration"),
        (b'{"expires_in": true}', 400, "duration"),
        (b'{"id": "Bad_Id"}', 400, "token id"),
        (b'{"allowed_cidrs": ["300.1.1.1/8"]}', 400, "CIDR"),
        (b'{"id": "dup"}', 409, "already exists"),
        (b"{" + b" " * 70_000 + b"}", 413, "larger than"),
    ],
)
async def test_bad_create_bodies_are_4xx(
    env: tuple[httpx.AsyncClient, TokenStore, ListSink, AuditLog],
    body: bytes,
    status: int,
    fragment: str,
) -> None:
    client, _, _, _ = env
    first = await client.post("/tokens", headers=WRITE, json={"id": "dup"})
    assert first.status_code == 201
    response = await client.post("/tokens", headers=WRITE, content=body)
    assert response.status_code == status
    assert response.json()["code"] == "auth.invalid_request"
    assert fragment in response.json()["message"]


async def test_revoke_needs_a_reason_and_revoked_cannot_rotate(
    env: tuple[httpx.AsyncClient, TokenStore, ListSink, AuditLog],
) -> None:
    client, _, _, _ = env
    await client.post("/tokens", headers=WRITE, json={"id": "r1"})
    missing = await client.post("/tokens/r1/revoke", headers=WRITE, json={})
    assert missing.status_code == 400
    assert "reason" in missing.json()["message"]
    await client.post("/tokens/r1/revoke", headers=WRITE, json={"reason": "x"})
    rotate = await client.post("/tokens/r1/rotate", headers=WRITE)
    assert rotate.status_code == 409
