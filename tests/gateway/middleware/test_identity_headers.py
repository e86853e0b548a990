"""IdentityHeadersMiddleware: strips forged identity and credentials, prepares ours."""

from __future__ import annotations

import pytest
from tests.gateway.middleware.helpers import call, http_scope, ok_app, prepared

from authgate.gateway.identity import IdentityHeaders, header_value
from authgate.gateway.middleware.identity_headers import IdentityHeadersMiddleware
from authgate.gateway.settings import IDENTITY_FIELDS, GatewaySettings
from authgate.policy.rules import Rule
from authgate.principal import Principal, PrincipalKind

pytestmark = pytest.mark.anyio


def identity(**names: str) -> IdentityHeaders:
    settings = GatewaySettings(identity_headers=names)
    return IdentityHeaders({f: settings.header_name(f) for f in IDENTITY_FIELDS})


async def test_forged_headers_and_credentials_are_stripped_in_proxy_mode() -> None:
    scope = http_scope(
        [
            (b"x-authgate-subject", b"root"),
            (b"x-authgate-anything", b"1"),
            (b"x-user", b"root"),
            (b"authorization", b"Bearer t"),
            (b"dpop", b"proof"),
            (b"accept", b"*/*"),
        ]
    )
    ctx = prepared(scope, Rule("r", "/x"))
    ctx.principal = Principal(
        "alice", PrincipalKind.USER, scopes=frozenset({"b", "a"}), roles=frozenset({"Org Admin"})
    )
    await call(IdentityHeadersMiddleware(ok_app, identity(subject="X-User")), scope)
    assert scope["headers"] == [(b"accept", b"*/*")]
    upstream = dict(scope["authgate.upstream_headers"])
    assert upstream[b"x-user"] == b"alice"
    assert upstream[b"x-authgate-scopes"] == b"a b"
    assert upstream[b"x-authgate-roles"] == b"Org%20Admin"


async def test_forward_token_keeps_authorization() -> None:
    scope = http_scope([(b"authorization", b"Bearer t")])
    prepared(scope, Rule("p", "/x", public=True))
    await call(IdentityHeadersMiddleware(ok_app, identity(), forward_token=True), scope)
    assert scope["headers"] == [(b"authorization", b"Bearer t")]
    assert scope["authgate.upstream_headers"] == []


def test_hostile_values_cannot_inject_header_lines() -> None:
    assert header_value("evil\r\nX-Admin: 1") == b"evil%0D%0AX-Admin: 1"
    assert header_value("ünïcode") == b"%C3%BCn%C3%AFcode"
    assert header_value("a,b", list_item=True) == b"a%2Cb"
    assert header_value("plain value") == b"plain value"
