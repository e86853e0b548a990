"""AuthenticateMiddleware: skips public/unmatched routes, stores the Principal, refuses errors."""

from __future__ import annotations

import pytest
from tests.gateway.middleware.helpers import body, call, http_scope, ok_app, prepared, status

from authgate.authn.base import Credential
from authgate.errors import AuthError, ErrorCode
from authgate.gateway.middleware.authenticate import AuthenticateMiddleware
from authgate.policy.rules import Rule
from authgate.principal import Principal, PrincipalKind

pytestmark = pytest.mark.anyio


class Stub:
    def __init__(self) -> None:
        self.calls = 0

    async def authenticate(self, credential: Credential | None) -> Principal:
        self.calls += 1
        if credential is None:
            raise AuthError(ErrorCode.MISSING_TOKEN, "no token")
        if credential.token != "good":
            raise AuthError(ErrorCode.INVALID_SIGNATURE, "bad")
        return Principal("alice", PrincipalKind.USER)


async def test_principal_lands_in_scope() -> None:
    stub = Stub()
    scope = http_scope([(b"authorization", b"Bearer good")])
    ctx = prepared(scope, Rule("r", "/x"))
    sent = await call(AuthenticateMiddleware(ok_app, stub), scope)
    assert status(sent) == 200
    assert scope["authgate.principal"].subject == "alice"
    assert ctx.auth_seconds is not None


@pytest.mark.parametrize(
    ("headers", "code"),
    [([], "auth.missing_token"), ([(b"authorization", b"Bearer nope")], "auth.invalid_signature")],
)
async def test_refusals_are_401_with_code(headers: list[tuple[bytes, bytes]], code: str) -> None:
    scope = http_scope(headers)
    ctx = prepared(scope, Rule("r", "/x"))
    sent = await call(AuthenticateMiddleware(ok_app, Stub()), scope)
    assert (status(sent), body(sent)["code"]) == (401, code)
    assert ctx.decision == "unauthenticated"


@pytest.mark.parametrize("rule", [None, Rule("pub", "/x", public=True)])
async def test_public_and_unmatched_routes_skip_authentication(rule: Rule | None) -> None:
    stub = Stub()
    scope = http_scope()
    prepared(scope, rule)
    await call(AuthenticateMiddleware(ok_app, stub), scope)
    assert stub.calls == 0
