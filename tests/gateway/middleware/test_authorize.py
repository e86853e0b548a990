"""AuthorizeMiddleware: default deny, public pass-through, rule requirements."""

from __future__ import annotations

import pytest
from tests.gateway.middleware.helpers import body, call, http_scope, ok_app, prepared, status

from authgate.gateway.middleware.authorize import AuthorizeMiddleware
from authgate.policy.rules import Rule
from authgate.principal import Principal, PrincipalKind

pytestmark = pytest.mark.anyio


async def test_no_rule_is_default_deny() -> None:
    scope = http_scope()
    prepared(scope, None)
    sent = await call(AuthorizeMiddleware(ok_app), scope)
    assert (status(sent), body(sent)["code"]) == (403, "auth.access_denied")
    assert "default deny" in body(sent)["message"]


async def test_public_rule_passes() -> None:
    scope = http_scope()
    ctx = prepared(scope, Rule("pub", "/x", public=True))
    assert status(await call(AuthorizeMiddleware(ok_app), scope)) == 200
    assert ctx.decision == "public"


async def test_requirements_checked_against_principal() -> None:
    rule = Rule("admin", "/x", roles=("Admin",), scopes=("api:write",))
    scope = http_scope()
    ctx = prepared(scope, rule)
    ctx.principal = Principal("bob", PrincipalKind.USER, scopes=frozenset({"api:write"}))
    sent = await call(AuthorizeMiddleware(ok_app), scope)
    assert (status(sent), body(sent)["code"]) == (403, "auth.role_missing")
    allowed = http_scope()
    ctx = prepared(allowed, rule)
    ctx.principal = Principal(
        "ann", PrincipalKind.USER, scopes=frozenset({"api:write"}), roles=frozenset({"Admin"})
    )
    assert status(await call(AuthorizeMiddleware(ok_app), allowed)) == 200


async def test_missing_principal_fails_closed() -> None:
    scope = http_scope()
    prepared(scope, Rule("r", "/x"))
    sent = await call(AuthorizeMiddleware(ok_app), scope)
    assert status(sent) == 403
