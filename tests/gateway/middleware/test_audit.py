"""AuditMiddleware: authn/authz events with codes and fingerprints; public routes silent."""

from __future__ import annotations

import pytest
from tests.gateway.conftest import MemorySink
from tests.gateway.middleware.helpers import call, http_scope, ok_app, prepared, refusing_app

from authgate.clock import ManualClock
from authgate.errors import AuthError, ErrorCode
from authgate.fingerprint import fingerprint
from authgate.gateway.middleware.audit import AuditMiddleware
from authgate.observability.audit import AuditLog
from authgate.policy.rules import Rule
from authgate.principal import Principal, PrincipalKind

pytestmark = pytest.mark.anyio


async def test_success_failure_and_authz_events() -> None:
    sink = MemorySink([])
    audit = AuditLog([sink], clock=ManualClock())
    rule = Rule("r", "/x")

    ok = http_scope([(b"authorization", b"Bearer a.b.c")])
    ctx = prepared(ok, rule)
    ctx.principal = Principal("alice", PrincipalKind.USER, token_id="jti-1")
    ctx.request_id = "req-1"
    await call(AuditMiddleware(ok_app, audit), ok)

    bad = http_scope([(b"authorization", b"Bearer x.y.z")])
    prepared(bad, rule)
    await call(AuditMiddleware(refusing_app(AuthError(ErrorCode.TOKEN_EXPIRED, "old")), audit), bad)

    forbidden = http_scope([(b"authorization", b"Bearer a.b.c")])
    ctx = prepared(forbidden, rule)
    ctx.principal = Principal("bob", PrincipalKind.USER)
    await call(
        AuditMiddleware(refusing_app(AuthError(ErrorCode.ROLE_MISSING, "x")), audit), forbidden
    )

    public = http_scope()
    prepared(public, Rule("p", "/x", public=True)).decision = "public"
    await call(AuditMiddleware(ok_app, audit), public)

    await audit.flush()
    assert [(e.action, e.outcome, e.code, e.subject) for e in sink.events] == [
        ("authn", "success", None, "alice"),
        ("authn", "failure", "auth.token_expired", None),
        ("authz", "failure", "auth.role_missing", "bob"),
    ]
    assert sink.events[0].token_fingerprint == fingerprint("a.b.c")
    assert sink.events[0].request_id == "req-1"
    await audit.aclose()
