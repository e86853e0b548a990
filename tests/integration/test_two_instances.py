"""Two authgate processes sharing PostgreSQL + Redis: revocation fan-out and shared failure counts.

Each instance is a real ``uvicorn`` subprocess serving the tiny app built by ``create_app``
(service-token authentication, Redis failure limiter, admin token API). A revocation made on
instance A must be refused by instance B — which has the verdict cached — within 1 s, and
failures made against A and B must count toward one limit.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import orjson
import psycopg
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from authgate.authn.base import Credential
from authgate.authn.service_token import ServiceTokenAuthenticator
from authgate.client_ip import ClientIPResolver
from authgate.errors import AuthError, ErrorCode
from authgate.limits.base import GuardedAuthenticator, LimitConfig
from authgate.limits.redis import RedisFailureLimiter
from authgate.service_tokens.admin import TokenAdmin
from authgate.service_tokens.format import generate_token
from authgate.service_tokens.revocation import RevocationFeed
from authgate.service_tokens.store import TokenStore

HERE = Path(__file__).resolve().parent


# -- the app each instance runs -------------------------------------------------------------
class Authenticate:
    """Minimal auth middleware: bearer token → Principal in scope, or the JSON error."""

    def __init__(self, app: ASGIApp, auth: Callable[[Credential], Awaitable[object]]) -> None:
        self.app = app
        self.auth = auth
        self.ips = ClientIPResolver()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/healthz":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").decode().removeprefix("Bearer ")
        try:
            principal = await self.auth(Credential(token, client_ip=self.ips.resolve(scope)))
            if principal is None:
                raise AuthError(ErrorCode.MALFORMED_TOKEN, "not a service token")
        except AuthError as error:
            extra = {"Retry-After": str(int(error.retry_after + 1))} if error.retry_after else {}
            await JSONResponse(error.to_dict(), error.status, extra)(scope, receive, send)
            return
        scope["authgate.principal"] = principal
        await self.app(scope, receive, send)


def create_app() -> ASGIApp:
    """Factory for ``uvicorn --factory``; configuration comes from the environment."""
    store = TokenStore(os.environ["AUTHGATE_TOKEN_STORE_URL"])
    redis_url = os.environ["AUTHGATE_REDIS_URL"]
    feed = RevocationFeed(redis_url, channel=os.environ["TEST_CHANNEL"])
    limiter = RedisFailureLimiter(
        LimitConfig(ip_limit=1000, identity_limit=3, interval=60),
        redis_url,
        prefix=os.environ["TEST_PREFIX"],
    )
    guard = GuardedAuthenticator(ServiceTokenAuthenticator(store, revocations=feed), limiter)
    admin = TokenAdmin(store, revocations=feed)

    async def whoami(request: Request) -> Response:
        return JSONResponse({"subject": request.scope["authgate.principal"].subject})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"fanout": feed.healthy})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await feed.start()
        yield
        await feed.aclose()
        await limiter.aclose()
        await store.aclose()

    from authgate.admin_api.tokens import token_routes

    app = Starlette(
        routes=[
            Route("/whoami", whoami),
            Route("/healthz", healthz),
            Mount("/admin", routes=token_routes(admin)),
        ],
        lifespan=lifespan,
    )
    return Authenticate(app, guard.authenticate)


# -- the test -------------------------------------------------------------------------------
@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    name = f"ag_two_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Instance:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "test_two_instances:create_app",
             "--app-dir", str(HERE), "--fd", str(self.sock.fileno()), "--log-level", "warning"],
            env=env, pass_fds=(self.sock.fileno(),), stdout=self._out, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, client: httpx.Client) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            with contextlib.suppress(httpx.TransportError):
                if client.get(self.url + "/healthz").json()["fanout"]:
                    return
        pytest.fail(f"instance {self.url} never became ready:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.sock.close()
        self._out.close()


@pytest.mark.anyio
async def test_revoke_on_a_rejected_on_b_and_failures_shared(
    pg_database: str, redis_url: str, tmp_path: Path
) -> None:
    store = TokenStore(pg_database)
    await store.migrate()
    admin = TokenAdmin(store)
    admin_token, _ = await admin.create(
        actor="test", token_id="admin", scopes=["admin:tokens:read", "admin:tokens:write"]
    )
    victim, _ = await admin.create(actor="test", token_id="victim", scopes=["read"])
    await admin.create(actor="test", token_id="target")
    await store.aclose()

    env = {
        **os.environ,
        "AUTHGATE_TOKEN_STORE_URL": pg_database,
        "AUTHGATE_REDIS_URL": redis_url,
        "TEST_CHANNEL": f"test:revoked:{uuid.uuid4().hex}",
        "TEST_PREFIX": f"test:{uuid.uuid4().hex}:",
        "PYTHONPATH": os.pathsep.join(
            [str(HERE.parent.parent / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    a = Instance(env, tmp_path / "a.log")
    b = Instance(env, tmp_path / "b.log")
    try:
        with httpx.Client(timeout=5) as client:
            a.wait_ready(client)
            b.wait_ready(client)
            bearer = {"Authorization": f"Bearer {victim}"}
            for instance in (a, b):  # both now hold a cached verdict for 30 s (pub/sub healthy)
                response = client.get(instance.url + "/whoami", headers=bearer)
                assert response.status_code == 200, response.text
                assert response.json() == {"subject": "victim"}

            revoked = client.post(
                a.url + "/admin/tokens/victim/revoke",
                headers={"Authorization": f"Bearer {admin_token}"},
                json={"reason": "two-instance test"},
            )
            assert revoked.status_code == 200, revoked.text
            start = time.monotonic()
            while True:  # bounded poll on B: the only waiting this suite does
                response = client.get(b.url + "/whoami", headers=bearer)
                elapsed = time.monotonic() - start
                if response.status_code == 401 or elapsed > 2.0:
                    break
            assert response.status_code == 401, response.text
            assert response.json()["code"] == "auth.token_revoked"
            assert elapsed < 1.0

            # Failures for one identity, spread over both instances, hit one shared limit of 3.
            wrong = {"Authorization": f"Bearer {generate_token('target')}"}
            codes = [
                client.get(url + "/whoami", headers=wrong).json()["code"]
                for url in (a.url, b.url, a.url)
            ]
            assert codes == ["auth.invalid_service_token"] * 3
            blocked = client.get(b.url + "/whoami", headers=wrong)
            assert blocked.status_code == 429
            assert blocked.json()["code"] == "auth.rate_limited.identity"
            assert 0 < int(blocked.headers["retry-after"]) <= 61
            assert orjson.loads(blocked.content)["retry_after"] > 0
    finally:
        a.stop()
        b.stop()
